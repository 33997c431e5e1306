"""``marvel-mlops serve`` as a real process: configuration, token, graceful SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from marvel_mlops.cli.serve import parse_args, settings_from_args
from marvel_mlops.serving.settings import SettingsError, settings_from_params
from tests.serving.conftest import random_records, read_log

PROJECT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_settings_come_from_parameters_deployment_and_flags_override():
    settings = settings_from_args(parse_args(["--project-path", str(PROJECT)]))
    assert settings.host == "127.0.0.1"  # loopback by default
    assert settings.model_name == "marvel_character_model"
    assert settings.inference_log.path == str(PROJECT / "data/lakehouse/inference_log")
    flagged = settings_from_args(parse_args(
        ["--project-path", str(PROJECT), "--ab-share", "0.25", "--shadow", "--port", "9001",
         "--no-inference-log"]
    ))  # fmt: skip
    assert (flagged.ab_challenger_share, flagged.shadow, flagged.port) == (0.25, True, 9001)
    assert not flagged.inference_log.enabled


@pytest.mark.parametrize(
    ("serving", "named"),
    [
        ({"ab_challenger_share": 1.5}, "ab_challenger_share"),
        ({"poll_interval_s": 0}, "poll_interval_s"),
        ({"inference_log": {"batch_size": 0}}, "inference_log.batch_size"),
        ({"ab_share": 0.1}, "ab_share"),
    ],
)
def test_bad_settings_are_refused_by_name(serving, named):
    with pytest.raises(SettingsError, match=named):
        settings_from_params(serving)


def test_serve_command_answers_and_flushes_the_log_on_sigterm(store, tmp_path):
    port, log = free_port(), tmp_path / "inference_log"
    command = [
        str(Path(sys.executable).parent / "marvel-mlops"), "serve",
        "--project-path", str(PROJECT), "--port", str(port), "--tracking-uri", store.uri,
        "--model-uri", f"models:/{store.name}@champion", "--inference-log-path", str(log),
        "--log-level", "warning",
        "--no-feature-store",  # the checkout's data/feature_store may or may not exist
    ]  # fmt: skip
    env = {**os.environ, "MARVEL_SERVING_TOKEN": "t0ken"}
    process = subprocess.Popen(command, env=env, cwd=tmp_path)
    url, auth = f"http://127.0.0.1:{port}", {"authorization": "Bearer t0ken"}
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            deadline = time.monotonic() + 120
            while True:
                assert process.poll() is None, "the server exited"
                try:
                    if http.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline
                time.sleep(0.3)
            records = random_records(90, seed=41)
            assert http.post("/v1/predict", json={"records": records}).status_code == 401
            for start in range(0, 90, 30):
                body = {"records": records[start : start + 30]}
                assert http.post("/v1/predict", json=body, headers=auth).status_code == 200
            assert http.get("/version", headers=auth).json()["champion_version"] == "1"
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert code in (0, -signal.SIGTERM)
    assert len(read_log(log)) == 90


def test_unreachable_registry_opens_the_port_at_once_and_sigterm_stops_soon(tmp_path):
    """The registry cannot be reached: /health answers, /ready says why, SIGTERM acts."""
    port, dead = free_port(), free_port()  # nothing listens on ``dead``
    command = [
        str(Path(sys.executable).parent / "marvel-mlops"), "serve",
        "--project-path", str(PROJECT), "--port", str(port),
        "--tracking-uri", f"http://127.0.0.1:{dead}",
        "--model-uri", "models:/marvel_character_model@champion", "--no-inference-log",
        "--poll-interval", "1", "--log-level", "warning",
    ]  # fmt: skip
    env = {**os.environ, "MARVEL_SERVING_TOKEN": ""}  # set but empty: a warning
    for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        env.pop(name, None)
    output = (tmp_path / "output.txt").open("w")  # the project's logging goes to stdout
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=output,
                               stderr=subprocess.STDOUT)  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            deadline = time.monotonic() + 60  # MLflow's own retries alone take minutes
            while True:
                assert process.poll() is None, "the server exited"
                try:
                    if http.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the port did not open"
                time.sleep(0.3)
            deadline = time.monotonic() + 60
            while "failed" not in (http.get("/ready").json()["detail"] or ""):
                assert time.monotonic() < deadline, "/ready never said why"
                time.sleep(0.3)
            ready = http.get("/ready")
            assert ready.status_code == 503 and ready.json()["status"] == "not ready"
            assert "no champion loaded" in ready.json()["detail"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            output.close()
    assert code in (0, -signal.SIGTERM)
    logged = " ".join((tmp_path / "output.txt").read_text().split())  # rich wraps lines
    assert "MARVEL_SERVING_TOKEN is set but" in logged
