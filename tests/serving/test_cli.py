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

from marvel_mlops.serving.cli import parse_args, settings_from_args
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
