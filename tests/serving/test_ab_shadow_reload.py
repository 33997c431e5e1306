"""A/B by salted PageID hash, shadow scoring, and champion hot swap on a real server."""

from __future__ import annotations

import threading
import time

import httpx
import numpy as np

from marvel_mlops.adapters import registry
from marvel_mlops.serving.app import create_app
from marvel_mlops.serving.routing import variant_for
from tests.serving.conftest import (
    LiveServer,
    make_settings,
    pyfunc_predictions,
    random_records,
    read_log,
)


def test_variant_is_a_stable_salted_share_of_page_ids():
    ids = [f"Character_{i}_(Earth-616)" for i in range(20_000)]
    first = [variant_for(i, "salt-a", 0.3) for i in ids]
    assert first == [variant_for(i, "salt-a", 0.3) for i in ids]
    share = np.mean([v == "challenger" for v in first])
    assert 0.28 < share < 0.32
    other_salt = [variant_for(i, "salt-b", 0.3) for i in ids]
    assert 0.5 < np.mean([a == b for a, b in zip(first, other_salt, strict=True)]) < 0.7
    assert {variant_for(i, "salt-a", 0.0) for i in ids} == {"champion"}
    assert variant_for(None, "salt-a", 1.0) == "champion"


def test_ab_split_serves_each_character_always_from_the_same_model(store, registry_uri, tmp_path):
    records = random_records(300, seed=21)
    log = tmp_path / "inference_log"
    app = create_app(make_settings(store, log, ab_challenger_share=0.4, ab_salt="test-salt"))
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as http:
        runs = [http.post("/v1/predict", json={"records": records}).json()["predictions"]
                for _ in range(2)]  # fmt: skip
        assert http.get("/version").json()["challenger_version"] == store.versions[1]
    assert runs[0] == runs[1]
    champion, challenger = store.versions
    by_variant = {"champion": champion, "challenger": challenger}
    for record, answer in zip(records, runs[0], strict=True):
        assert answer["variant"] == variant_for(record["page_id"], "test-salt", 0.4)
        assert answer["model_version"] == by_variant[answer["variant"]]
    share = np.mean([a["variant"] == "challenger" for a in runs[0]])
    assert 0.3 < share < 0.5
    for variant, version in by_variant.items():
        chosen = [i for i, a in enumerate(runs[0]) if a["variant"] == variant]
        expected = pyfunc_predictions(version, [records[i] for i in chosen])
        got = [runs[0][i]["probability"] for i in chosen]
        np.testing.assert_allclose(got, expected["probability"], rtol=1e-12)
    logged = read_log(log)
    assert len(logged) == 600 and logged["served"].all()
    assert (logged["variant"] == "challenger").sum() == 2 * round(share * 300)


def test_shadow_scores_the_challenger_off_the_response_path(store, registry_uri, tmp_path):
    records = random_records(120, seed=22)
    log = tmp_path / "inference_log"
    app = create_app(make_settings(store, log, shadow=True))
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as http:
        answers = []
        for start in range(0, 120, 40):
            response = http.post("/v1/predict", json={"records": records[start : start + 40]})
            answers += response.json()["predictions"]
    assert {a["variant"] for a in answers} == {"champion"}
    assert {a["model_version"] for a in answers} == {store.versions[0]}
    logged = read_log(log)
    served, shadow = logged[logged["served"]], logged[~logged["served"]]
    assert len(served) == 120 and len(shadow) == 120
    assert set(shadow["variant"]) == {"challenger"}
    assert set(shadow["model_version"]) == {store.versions[1]}
    pairs = served.merge(shadow, on=["request_id", "record_index"], suffixes=("", "_shadow"))
    assert len(pairs) == 120 and (pairs["page_id"] == pairs["page_id_shadow"]).all()
    pairs = pairs.sort_values(["request_id", "record_index"])
    expected = pyfunc_predictions(store.versions[1], [
        next(r for r in records if r["page_id"] == p) for p in pairs["page_id"]
    ])  # fmt: skip
    np.testing.assert_allclose(pairs["probability_shadow"], expected["probability"], rtol=1e-12)


def test_champion_alias_move_is_picked_up_without_restart_or_mixed_answers(store, registry_uri):
    record = random_records(1, seed=23)[0]
    expected = {v: float(pyfunc_predictions(v, [record])["probability"][0]) for v in store.versions}
    assert expected[store.versions[0]] != expected[store.versions[1]]
    app = create_app(make_settings(store, poll_interval_s=0.2))
    answers, stop = [], threading.Event()

    def traffic(url):
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                response = http.post("/v1/predict", json={"records": [record]})
                answers.append((response.status_code, response.json()))

    with LiveServer(app) as live:
        worker = threading.Thread(target=traffic, args=(live.url,))
        worker.start()
        time.sleep(0.5)
        registry.set_alias(store.name, registry.CHAMPION, store.versions[1])
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=live.url) as http:
            while http.get("/version").json()["champion_version"] != store.versions[1]:
                assert time.monotonic() < deadline, "the new champion was not picked up"
                time.sleep(0.1)
        time.sleep(0.5)
        stop.set()
        worker.join()
    assert answers and all(status == 200 for status, _ in answers)
    versions = [body["predictions"][0]["model_version"] for _, body in answers]
    for _, body in answers:  # every answer comes whole from one version
        prediction = body["predictions"][0]
        assert prediction["probability"] == expected[prediction["model_version"]]
    switch = versions.index(store.versions[1])
    assert set(versions[:switch]) == {store.versions[0]} and switch > 0
    assert set(versions[switch:]) == {store.versions[1]}


def test_server_without_champion_is_not_ready_until_one_appears(store, registry_uri):
    registry.delete_alias(store.name, registry.CHAMPION)
    app = create_app(make_settings(store, poll_interval_s=0.2))
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as http:
        assert http.get("/health").status_code == 200
        assert http.get("/ready").status_code == 503
        refused = http.post("/v1/predict", json={"records": [{"page_id": "x"}]})
        assert refused.status_code == 503 and refused.json()["error_code"] == "NOT_READY"
        registry.set_alias(store.name, registry.CHAMPION, store.versions[0])
        deadline = time.monotonic() + 60
        while http.get("/ready").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert http.post("/v1/predict", json={"records": [{"page_id": "x"}]}).status_code == 200
