"""The README's curl examples, sent as written to a real server."""

import json
import re
from pathlib import Path

import httpx
import mlflow

from marvel_mlops.serving.app import create_app
from tests.serving.conftest import LiveServer, make_settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
CURL = re.compile(r"^curl -s http://127\.0\.0\.1:8080(/\S+) .*-d '(.+)'$", re.M)


def test_readme_curl_examples_are_answered_with_predictions(store):
    examples = CURL.findall(README)
    assert {path for path, _ in examples} == {"/v1/predict", "/invocations"}
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(store.uri)
    mlflow.set_registry_uri(store.uri)
    try:
        app = create_app(make_settings(store))
        with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as http:
            for path, body in examples:
                response = http.post(
                    path, content=body, headers={"Content-Type": "application/json"}
                )
                assert response.status_code == 200, (path, response.text)
                predictions = response.json()["predictions"]
                sent = json.loads(body)
                rows = sent.get("records") or sent["dataframe_split"]["data"]
                assert len(predictions) == len(rows)
                assert all(0.0 <= p["probability"] <= 1.0 for p in predictions)
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
