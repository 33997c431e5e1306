"""``marvel-mlops replay`` against a real HTTP server on 127.0.0.1, and without a server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import mlflow
import pytest
from deltalake import DeltaTable

from marvel_mlops.cli.replay import main, parse_marginal
from tests.monitoring.helpers import register_champion


class Recorder(BaseHTTPRequestHandler):
    """Answers /invocations like an MLflow scoring server and keeps the request bodies."""

    bodies: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Recorder.bodies.append(body)
        predictions = [{"probability": 0.7, "label": 1, "model_version": "1"}] * len(
            body["dataframe_records"]
        )
        payload = json.dumps({"predictions": predictions}).encode()
        self.send_response(200 if self.path == "/invocations" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Recorder.bodies = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def champion_project(project_copy: Path, spark):
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    register_champion(project_copy / "data" / "mlflow", train_rows=2000)
    yield project_copy
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def test_replay_posts_mlflow_records_with_page_id_then_writes_labels(champion_project, server):
    code = main(
        ["--url", server, "--rows", "250", "--batch-size", "100", "--seed", "3",
         "--marginal", "Gender=Female:0.7,Male:0.3", "--project", str(champion_project)]
    )  # fmt: skip
    assert code == 0
    records = [r for body in Recorder.bodies for r in body["dataframe_records"]]
    assert [len(b["dataframe_records"]) for b in Recorder.bodies] == [100, 100, 50]
    assert len({r["page_id"] for r in records}) == 250
    assert sum(r["gender"] == "Female" for r in records) > 140
    truth = DeltaTable(str(champion_project / "data/lakehouse/ground_truth")).to_pandas()
    assert set(truth["page_id"]) == {r["page_id"] for r in records}
    assert not (champion_project / "data/lakehouse/inference_log").exists()


def test_replay_without_server_scores_into_the_inference_log(champion_project):
    assert main(["--rows", "200", "--seed", "4", "--project", str(champion_project)]) == 0
    log = DeltaTable(str(champion_project / "data/lakehouse/inference_log")).to_pandas()
    truth = DeltaTable(str(champion_project / "data/lakehouse/ground_truth")).to_pandas()
    assert len(log) == 200 and log["probability"].between(0, 1).all()
    assert truth["observed_at_utc"].min() > log["timestamp_utc"].max()


def test_bad_marginal_is_named():
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="--marginal 'Gender'"):
        parse_marginal("Gender")
