"""Model serving with feature lookup: records that carry only page_id, on a real server
over a real Feast-published online store (Delta feature tables, SQLite online store)."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from deltalake import write_deltalake

from marvel_mlops.adapters.feast_store import FeastStore, pinned_tables
from marvel_mlops.data.schema import FEATURE_COLUMNS
from marvel_mlops.features_store.definitions import CHARACTER_ATTRIBUTES, GROUP_FEATURES
from marvel_mlops.features_store.lookup import FeastLookup
from marvel_mlops.serving.app import create_app
from tests.serving.conftest import (
    LiveServer,
    make_settings,
    pyfunc_predictions,
    read_log,
    records_of,
)

AS_OF = "2026-01-01T00:00:00Z"


def attribute_rows(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(records)[["page_id", *FEATURE_COLUMNS]]
    frame["event_timestamp"] = pd.Timestamp("2025-01-01", tz="UTC")
    for column, kind in CHARACTER_ATTRIBUTES.features.items():
        frame[column] = frame[column].astype("float64" if kind == "double" else object)
    return frame[CHARACTER_ATTRIBUTES.columns]


def group_rows(keys: list[str], rate: float) -> pd.DataFrame:
    frame = pd.DataFrame({"page_id": keys, "event_timestamp": pd.Timestamp("2025-01-01", tz="UTC")})
    for column in GROUP_FEATURES.features:
        frame[column] = rate
    return frame


def publish(repo, tables) -> None:
    FeastLookup(FeastStore(repo), pinned_tables(tables)).publish(AS_OF)


@pytest.fixture(scope="module")
def feature_store(store, tmp_path_factory):
    root = tmp_path_factory.mktemp("feature_store")
    records = records_of(store.characters)
    tables = {
        CHARACTER_ATTRIBUTES.name: str(root / "lakehouse" / CHARACTER_ATTRIBUTES.name),
        GROUP_FEATURES.name: str(root / "lakehouse" / GROUP_FEATURES.name),
    }
    write_deltalake(tables[CHARACTER_ATTRIBUTES.name], attribute_rows(records))
    write_deltalake(tables[GROUP_FEATURES.name], group_rows([r["page_id"] for r in records], 0.7))
    publish(root / "repo", tables)
    return root / "repo", tables, records


@pytest.fixture(scope="module")
def server(store, feature_store, tmp_path_factory):
    import mlflow

    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(store.uri)
    mlflow.set_registry_uri(store.uri)
    repo, tables, _ = feature_store
    log = tmp_path_factory.mktemp("lookup_log") / "inference_log"
    settings = make_settings(store, log, feature_store_repo=str(repo), feature_tables=tables)
    app = create_app(settings)
    with LiveServer(app) as live:
        deadline = time.monotonic() + 60
        while app.state.serving.features.published is None and time.monotonic() < deadline:
            time.sleep(0.05)
        live.log_path = log
        yield live
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def test_a_record_with_only_page_id_scores_like_the_full_record(client, store, feature_store):
    records = feature_store[2][:25]
    answer = client.post(
        "/v1/predict", json={"records": [{"page_id": r["page_id"]} for r in records]}
    )
    assert answer.status_code == 200, answer.text
    expected = pyfunc_predictions(store.versions[0], records)
    got = [p["probability"] for p in answer.json()["predictions"]]
    assert got == pytest.approx(expected["probability"].tolist(), abs=1e-9)
    assert [p["page_id"] for p in answer.json()["predictions"]] == [r["page_id"] for r in records]


def test_an_unknown_key_gets_a_404_naming_it(client, feature_store):
    known = feature_store[2][0]["page_id"]
    answer = client.post(
        "/v1/predict", json={"records": [{"page_id": known}, {"page_id": "Nobody_(Earth-0)"}]}
    )
    assert answer.status_code == 404
    body = answer.json()
    assert body["error_code"] == "UNKNOWN_KEY" and "Nobody_(Earth-0)" in body["message"]
    assert body["errors"][0]["field"] == "page_id"
    assert client.get("/v1/features/Nobody_(Earth-0)").status_code == 404


def test_feature_serving_returns_the_published_features_by_key(client, feature_store):
    record = feature_store[2][3]
    answer = client.get(f"/v1/features/{record['page_id']}")
    assert answer.status_code == 200
    body = answer.json()
    for column in FEATURE_COLUMNS:
        assert body["features"][column] == record[column], column
    assert body["features"]["universe_alive_rate"] == 0.7
    assert "character_attributes@v0" in body["feature_version"]


def test_the_inference_log_says_the_features_came_from_the_store_and_its_version(
    client, server, feature_store
):
    looked_up, sent = feature_store[2][5], feature_store[2][6]
    answer = client.post("/v1/predict", json={"records": [{"page_id": looked_up["page_id"]}, sent]})
    request_id = answer.json()["request_id"]
    deadline = time.monotonic() + 30
    rows = pd.DataFrame()
    while time.monotonic() < deadline:
        log = read_log(server.log_path)  # no table until the first flush: no rows yet
        rows = log[log["request_id"] == request_id]
        if len(rows) == 2:
            break
        time.sleep(0.2)
    assert len(rows) == 2
    rows = rows.sort_values("record_index")
    assert rows["universe"].iloc[0] == looked_up["universe"]
    assert rows["origin"].iloc[0] == looked_up["origin"]
    assert rows["feature_source"].tolist() == ["online_store", "request"]
    version = rows["feature_version"].iloc[0]
    assert "character_attributes@v" in version and "character_group_features@v" in version
    assert rows["feature_version"].iloc[1] is None


def test_a_newer_offline_version_is_reported_then_published_and_served(
    client, server, feature_store
):
    repo, tables, records = feature_store
    key = records[0]["page_id"]
    write_deltalake(
        tables[GROUP_FEATURES.name],
        group_rows([r["page_id"] for r in records], 0.2),
        mode="overwrite",
    )
    assert "online store older than the offline tables" in client.get("/ready").json()["detail"]
    publish(repo, tables)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        served = client.get(f"/v1/features/{key}").json()
        if served["features"]["universe_alive_rate"] == 0.2:
            break
        time.sleep(0.1)
    assert served["features"]["universe_alive_rate"] == 0.2
    assert "character_group_features@v1" in served["feature_version"]
    assert client.get("/ready").json()["detail"] is None
