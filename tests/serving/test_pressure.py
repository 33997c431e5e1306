"""Steady under pressure: bad, slow and vanishing clients cannot stall or mislead the server."""

from __future__ import annotations

import logging
import socket
import threading
import time

import httpx
import orjson
import pytest

from marvel_mlops.adapters import registry
from marvel_mlops.serving.app import create_app
from marvel_mlops.serving.models import UriSource
from marvel_mlops.serving.schemas import MAX_ERRORS
from marvel_mlops.serving.settings import SettingsError
from tests.serving.conftest import LiveServer, make_settings


def test_bad_bodies_get_bounded_answers_and_health_keeps_answering(store, registry_uri):
    columns = ["page_id"] + [f"unknown_{i}" for i in range(120_000)]
    split = orjson.dumps({"dataframe_split": {"columns": columns, "data": [["x"]]}})
    extra = orjson.dumps({"records": [{"page_id": "x", **{f"f{i}": 1 for i in range(60_000)}}]})
    app = create_app(make_settings(store, max_body_bytes=4_000_000))
    headers = {"content-type": "application/json"}
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as http:
        answer = http.post("/invocations", content=split, headers=headers)
        assert answer.status_code == 422 and len(answer.content) < 5_000
        assert answer.json()["errors"][0]["field"] == "dataframe_split.columns"
        answer = http.post("/v1/predict", content=extra, headers=headers)
        body = answer.json()
        assert answer.status_code == 422 and len(answer.content) < 10_000
        assert len(body["errors"]) == MAX_ERRORS and body["more_errors"] == 60_000 - MAX_ERRORS
        assert body["errors"][0] == {"field": "records[0].f0", "problem": "unknown field 'f0'"}
        assert "(and 59997 more)" in body["message"]

        results, stop = [], threading.Event()

        def flood(path, content):
            with httpx.Client(base_url=live.url, timeout=120) as client:
                while not stop.is_set():
                    try:
                        results.append(
                            client.post(path, content=content, headers=headers).status_code
                        )
                    except httpx.HTTPError as error:
                        results.append(repr(error))

        bad = [("/invocations", split), ("/v1/predict", extra)] * 3
        workers = [threading.Thread(target=flood, args=b) for b in bad]
        for worker in workers:
            worker.start()
        try:
            probes = 0
            while len(results) < 24:  # each probe waits at most 10 s: bad bodies never stall it
                assert http.get("/health", timeout=10).status_code == 200
                probes += 1
                time.sleep(0.05)
            assert probes >= 5
        finally:
            stop.set()
            for worker in workers:
                worker.join()
    assert results and set(results) == {422}


class Captured(logging.Handler):
    """Log records of the named loggers while the block runs."""

    def __init__(self, *names: str) -> None:
        super().__init__(logging.DEBUG)
        self.names, self.records = names, []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> Captured:
        for name in self.names:
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        for name in self.names:
            logging.getLogger(name).removeHandler(self)


def metric(http: httpx.Client, name: str) -> float | None:
    """One sample of ``/metrics`` by its full name with labels, or None."""
    for line in http.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait_for(condition, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_losing_the_champion_alias_keeps_the_last_good_model_and_says_so(store, registry_uri):
    champion, other = store.versions
    app = create_app(make_settings(store, poll_interval_s=0.2))
    record = {"records": [{"page_id": "Loki_(Earth-616)"}]}
    with (
        Captured("marvel_mlops") as logs,
        LiveServer(app) as live,
        httpx.Client(base_url=live.url, timeout=30) as http,
    ):
        assert metric(http, "marvel_serving_champion_alias_missing") == 0.0
        registry.delete_alias(store.name, registry.CHAMPION)
        wait_for(lambda: metric(http, "marvel_serving_champion_alias_missing") == 1.0, "metric")
        ready = http.get("/ready")
        assert ready.status_code == 200 and ready.json()["champion_version"] == champion
        assert "'champion'" in ready.json()["detail"] and "gone" in ready.json()["detail"]
        answer = http.post("/v1/predict", json=record)
        assert answer.status_code == 200
        assert answer.json()["predictions"][0]["model_version"] == champion
        warnings = [r for r in logs.records if r.levelno == logging.WARNING]
        assert any("gone" in r.getMessage() for r in warnings)
        registry.set_alias(store.name, registry.CHAMPION, other)  # the alias returns
        wait_for(lambda: http.get("/version").json()["champion_version"] == other, "return")
        assert metric(http, "marvel_serving_champion_alias_missing") == 0.0
        assert http.get("/ready").json()["detail"] is None
        assert (
            http.post("/v1/predict", json=record).json()["predictions"][0]["model_version"] == other
        )


def test_client_hanging_up_mid_body_is_no_error_nor_a_500(store, registry_uri):
    app = create_app(make_settings(store))
    with (
        Captured("marvel_mlops", "uvicorn", "uvicorn.error") as logs,
        LiveServer(app) as live,
        httpx.Client(base_url=live.url, timeout=30) as http,
    ):
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", live.port), timeout=10) as raw:
                raw.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: t\r\n"
                            b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
                            b'{"records": [{"page_id": "x"')  # fmt: skip
                time.sleep(0.2)
        closed = 'marvel_serving_requests_total{endpoint="/v1/predict",method="POST",status="499"}'
        wait_for(lambda: metric(http, closed) == 3.0, "3 requests counted as client-closed")
        assert 'status="500"' not in http.get("/metrics").text
    assert not [r for r in logs.records if r.levelno >= logging.ERROR]


def test_model_given_by_path_never_shows_the_path(store, registry_uri, tmp_path):
    import mlflow

    path = mlflow.artifacts.download_artifacts(f"models:/{store.name}/{store.versions[0]}",
                                               dst_path=str(tmp_path / "model"))  # fmt: skip
    assert UriSource(path, "some_model").version.startswith("run-")  # a label, not the path
    with pytest.raises(SettingsError, match="model_version"):
        make_settings(store, model_uri=f"models:/{store.name}@champion",
                      model_version="3").validated()  # fmt: skip
    settings = make_settings(store, model_uri=path, model_version="local-7").validated()
    app = create_app(settings)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as http:
        answers = [
            http.get("/ready"),
            http.get("/version"),
            http.post("/v1/predict", json={"records": [{"page_id": "x"}]}),
            http.post("/invocations", json={"dataframe_records": [{"page_id": "x"}]}),
            http.get("/metrics"),
        ]
        assert [a.status_code for a in answers] == [200] * 5
        assert http.get("/version").json()["model_name"] == store.name
        assert answers[2].json()["predictions"][0]["model_version"] == "local-7"
        assert answers[3].json()["predictions"][0]["model_version"] == "local-7"
    for answer in answers:
        assert str(tmp_path) not in answer.text and "local-7" in answer.text


def connect(port: int, data: bytes = b"") -> socket.socket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    if data:
        raw.sendall(data)
    return raw


def test_slow_clients_are_cut_off_and_connections_are_limited(store, registry_uri):
    app = create_app(make_settings(store, header_timeout_s=1.0, body_timeout_s=1.0))
    with LiveServer(app) as live:
        silent = [connect(live.port) for _ in range(5)]
        trickling = [connect(live.port, b"POST /v1/predict HTTP/1.1\r\nHost: t\r\n")
                     for _ in range(5)]  # fmt: skip
        slow_body = connect(live.port, b"POST /v1/predict HTTP/1.1\r\nHost: t\r\n"
                            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")  # fmt: skip
        for raw in silent + trickling:  # the server closes them (recv would wait 20 s)
            assert raw.recv(1024) == b""
            raw.close()
        answer = b""
        while chunk := slow_body.recv(4096):
            answer += chunk
        slow_body.close()
        assert answer.startswith(b"HTTP/1.1 408") and b"REQUEST_TIMEOUT" in answer
    app = create_app(make_settings(store, max_connections=4))
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as http:
        held = [connect(live.port) for _ in range(4)]
        time.sleep(0.2)  # let the server accept them
        assert http.get("/health").status_code == 503
        for raw in held:
            raw.close()
        wait_for(lambda: httpx.get(live.url + "/health").status_code == 200, "room again")
