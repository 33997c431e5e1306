"""Steady under pressure: bad, slow and vanishing clients cannot stall or mislead the server."""

from __future__ import annotations

import threading

import httpx
import orjson

from marvel_mlops.serving.app import create_app
from marvel_mlops.serving.schemas import MAX_ERRORS
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
            for _ in range(5):  # the probe waits at most 10 s: the bad bodies never stall it
                assert http.get("/health", timeout=10).status_code == 200
        finally:
            stop.set()
            for worker in workers:
                worker.join()
    assert results and set(results) == {422}
