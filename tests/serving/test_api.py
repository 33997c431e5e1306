"""The HTTP API on a real uvicorn server: protocol, typed endpoint, errors, auth, metrics."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest
from mlflow.pyfunc.scoring_server.client import ScoringServerClient

from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.serving.app import create_app
from tests.serving.conftest import (
    LiveServer,
    make_settings,
    pyfunc_predictions,
    records_of,
)


@pytest.fixture(scope="module")
def server(store, tmp_path_factory):
    """One server for the read-only API tests (no inference log, max 50 records)."""
    import mlflow

    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(store.uri)
    mlflow.set_registry_uri(store.uri)
    app = create_app(make_settings(store, max_records=50, max_body_bytes=20_000))
    with LiveServer(app) as live:
        yield live
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def test_status_endpoints(client, store):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["champion_version"] == store.versions[0]
    version = client.get("/version").json()
    assert version["model_name"] == store.name
    assert version["champion_version"] == store.versions[0]
    assert version["challenger_version"] is None  # no A/B, no shadow: not loaded


def test_mlflow_scoring_client_works_unchanged(server, store, registry_uri):
    """MLflow's own client (pandas frame with NaN, index) gets the pyfunc's answer."""
    frame = store.characters[list(INPUT_COLUMNS)].head(20).reset_index(drop=True)
    response = ScoringServerClient("127.0.0.1", server.port).invoke(frame)
    got = pd.DataFrame(response.get_predictions())
    expected = pyfunc_predictions(store.versions[0], records_of(store.characters.head(20), False))
    np.testing.assert_allclose(got["probability"], expected["probability"], rtol=1e-12)
    assert got["label"].tolist() == expected["label"].tolist()
    assert set(got["model_version"]) == {store.versions[0]}


def test_three_payload_formats_agree(client, store):
    records = records_of(store.characters.head(7), with_page_id=False)
    columns = list(INPUT_COLUMNS)
    bodies = [
        {"dataframe_records": records},
        {
            "dataframe_split": {
                "columns": columns,
                "data": [[r[c] for c in columns] for r in records],
            }
        },
        {"inputs": records},
        {"inputs": {c: [r[c] for r in records] for c in columns}},
    ]
    answers = []
    for body in bodies:
        response = client.post("/invocations", json=body)
        assert response.status_code == 200, response.text
        answers.append(response.json()["predictions"])
    assert all(a == answers[0] for a in answers)
    assert len(answers[0]) == 7 and set(answers[0][0]) == {"probability", "label", "model_version"}


def test_typed_predict_returns_probability_label_version_variant(client, store):
    records = records_of(store.characters.head(5))
    response = client.post("/v1/predict", json={"records": records})
    assert response.status_code == 200
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    expected = pyfunc_predictions(store.versions[0], records)
    for record, prediction, (_, row) in zip(
        records, body["predictions"], expected.iterrows(), strict=True
    ):
        assert prediction["page_id"] == record["page_id"]
        assert prediction["probability"] == pytest.approx(row["probability"], rel=1e-12)
        assert prediction["label"] == row["label"]
        assert prediction["model_version"] == store.versions[0]
        assert prediction["variant"] == "champion"


GOOD = {"page_id": "Logan_(Earth-616)", "universe": "Earth-616", "height_m": 1.6}
BAD_REQUESTS = [
    # (endpoint, body, status, field named in the answer)
    ("/v1/predict", {"records": [{**GOOD, "power": "claws"}]}, 422, "records[0].power"),
    ("/v1/predict", {"records": [{**GOOD, "height_m": "tall"}]}, 422, "records[0].height_m"),
    ("/v1/predict", {"records": [{**GOOD, "height_m": True}]}, 422, "records[0].height_m"),
    ("/v1/predict", {"records": [{**GOOD, "height_m": -1.0}]}, 422, "records[0].height_m"),
    ("/v1/predict", {"records": [{**GOOD, "universe": 616}]}, 422, "records[0].universe"),
    ("/v1/predict", {"records": [{"universe": "Earth-616"}]}, 422, "records[0].page_id"),
    ("/v1/predict", {"records": [{**GOOD, "page_id": ""}]}, 422, "records[0].page_id"),
    ("/v1/predict", {"records": []}, 422, "records"),
    ("/v1/predict", {"records": [GOOD] * 51}, 422, "records"),
    ("/v1/predict", {"rows": [GOOD]}, 422, "rows"),
    ("/v1/predict", {}, 422, "records"),
    ("/v1/predict", [GOOD], 422, "body"),
    ("/v1/predict", {"records": GOOD}, 422, "records"),
    ("/invocations", {"dataframe_records": [{"powers": 1}]}, 422, "dataframe_records[0].powers"),
    ("/invocations", {"dataframe_records": []}, 422, "dataframe_records"),
    ("/invocations", {"dataframe_records": [{"weight_kg": "80"}]}, 422,
     "dataframe_records[0].weight_kg"),
    ("/invocations", {"dataframe_split": {"columns": ["universe"], "data": [["a", "b"]]}}, 422,
     "dataframe_split.data[0]"),
    ("/invocations", {"dataframe_split": {"columns": ["universe", "universe"], "data": [[1, 2]]}},
     422, "dataframe_split.columns"),
    ("/invocations", {"dataframe_split": {"columns": ["height_m"], "data": [[{"x": 1}]]}}, 422,
     "dataframe_split.data[0].height_m"),
    ("/invocations", {"dataframe_split": {"columns": ["strength"], "data": [[1]]}}, 422,
     "dataframe_split.columns[0]"),
    ("/invocations", {"inputs": {"universe": ["a"], "teams": ["b", "c"]}}, 422, "inputs"),
    ("/invocations", {"inputs": 3}, 422, "inputs"),
    ("/invocations", {"instances": [GOOD]}, 422, "body"),
    ("/invocations", {"inputs": [GOOD], "dataframe_records": [GOOD]}, 422, "body"),
]  # fmt: skip


@pytest.mark.parametrize(("endpoint", "body", "status", "field"), BAD_REQUESTS)
def test_bad_input_gets_4xx_naming_the_field(client, endpoint, body, status, field):
    response = client.post(endpoint, json=body)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["error_code"] == "INVALID_INPUT"
    assert field in [e["field"] for e in answer["errors"]], answer
    assert all(e["problem"] for e in answer["errors"])


@pytest.mark.parametrize("endpoint", ["/v1/predict", "/invocations"])
def test_invalid_json_wrong_media_type_and_oversized_bodies(client, endpoint):
    headers = {"content-type": "application/json"}
    broken = client.post(endpoint, content=b'{"records": [', headers=headers)
    assert broken.status_code == 400 and broken.json()["error_code"] == "INVALID_JSON"
    empty = client.post(endpoint, content=b"", headers=headers)
    assert empty.status_code == 400
    not_utf8 = client.post(endpoint, content=b'{"records": ["\xff"]}', headers=headers)
    assert not_utf8.status_code == 400
    text = client.post(endpoint, content=b"page_id\nx", headers={"content-type": "text/csv"})
    assert text.status_code == 415 and text.json()["errors"][0]["field"] == "content-type"
    big = client.post(endpoint, content=b"[" + b" " * 30_000 + b"]", headers=headers)
    assert big.status_code == 413 and big.json()["error_code"] == "PAYLOAD_TOO_LARGE"


def test_oversized_chunked_body_is_refused(client):
    def chunks():
        for _ in range(40):
            yield b" " * 1000

    response = client.post(
        "/invocations", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_metrics_count_requests_errors_latency_and_predictions(client, store):
    client.post("/v1/predict", json={"records": [GOOD, {**GOOD, "page_id": "b"}]})
    client.post("/v1/predict", json={"records": []})
    text = client.get("/metrics").text
    assert (
        'marvel_serving_requests_total{endpoint="/v1/predict",method="POST",status="200"}' in text
    )
    assert 'marvel_serving_errors_total{endpoint="/v1/predict",error_code="INVALID_INPUT"}' in text
    assert (
        'marvel_serving_request_latency_seconds_bucket{endpoint="/v1/predict",le="0.005"}' in text
    )
    served = [
        line for line in text.splitlines()
        if line.startswith('marvel_serving_predictions_total{') and 'variant="champion"' in line
    ]  # fmt: skip
    assert sum(float(line.rsplit(" ", 1)[1]) for line in served) >= 2
    assert (
        f'marvel_serving_model_info{{variant="champion",version="{store.versions[0]}"}} 1.0' in text
    )


def test_openapi_documents_the_request_bodies(client):
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/PredictRequest"}
    records = schema["components"]["schemas"]["PredictRequest"]["properties"]["records"]
    assert records["maxItems"] == 50 and records["minItems"] == 1
    character = schema["components"]["schemas"]["Character"]
    assert character["required"] == ["page_id"] and character["additionalProperties"] is False
    assert {"422", "413", "415", "400"} <= set(schema["paths"]["/invocations"]["post"]["responses"])


def test_bearer_token_protects_everything_but_probes(store, registry_uri):
    app = create_app(make_settings(store), token="s3cret")
    with LiveServer(app) as live, httpx.Client(base_url=live.url) as http:
        body = {"records": [GOOD]}
        assert http.post("/v1/predict", json=body).status_code == 401
        wrong = http.post("/v1/predict", json=body, headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert http.get("/metrics").status_code == 401
        ok = http.post("/v1/predict", json=body, headers={"authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert http.get("/health").status_code == 200 and http.get("/ready").status_code == 200
        security = http.get("/openapi.json", headers={"authorization": "Bearer s3cret"}).json()
        assert security["paths"]["/v1/predict"]["post"]["security"] == [{"bearer": []}]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_use_only_local_assets(client, page):
    """/docs and /redoc work on a closed network: every asset comes from this server."""
    import re

    html = client.get(page)
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html.text)
    urls += re.findall(r"""url:\s*'([^']+)'""", html.text)  # Swagger UI's spec URL
    assert urls and not [u for u in urls if re.match(r"(https?:)?//", u)]
    assert not re.search(r"https?://(?!127\.0\.0\.1)", html.text.replace("http://www.w3.org", ""))
    for url in {u for u in urls if u.startswith("/")}:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, url
