"""The local feature store (Feast over Delta feature tables) and the server's online view.

Real Delta tables (delta-rs), a real Feast repository (registry, dask offline store,
SQLite online store; Redis from Debian when installed).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from deltalake import write_deltalake

from marvel_mlops.adapters.feast_store import FeastStore, pinned_tables
from marvel_mlops.data.schema import FEATURE_COLUMNS
from marvel_mlops.features_store.checks import FeatureTableError
from marvel_mlops.features_store.definitions import CHARACTER_ATTRIBUTES, GROUP_FEATURES
from marvel_mlops.features_store.lookup import FeastLookup
from marvel_mlops.features_store.online import OnlineFeatures, UnknownKeys

T = pd.Timestamp
AS_OF = "2026-01-01T00:00:00Z"
GROUP_COLUMNS = list(GROUP_FEATURES.features)


def attributes() -> pd.DataFrame:
    frame = pd.DataFrame(
        {"page_id": ["a", "b"], "event_timestamp": [T("2025-01-01", tz="UTC")] * 2}
    )
    for column in FEATURE_COLUMNS:
        kind = CHARACTER_ATTRIBUTES.features[column]
        frame[column] = [1.8, None] if kind == "double" else [f"{column}-a", None]
    return frame


def group_rows(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["page_id", "event_timestamp", "universe_alive_rate"])
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    for column in GROUP_COLUMNS:
        if column != "universe_alive_rate":
            frame[column] = np.arange(len(frame), dtype=float)
    return frame[GROUP_FEATURES.columns]


HISTORY = [("a", "2025-01-01", 0.1), ("a", "2025-06-01", 0.9), ("b", "2025-03-01", 0.4)]


@pytest.fixture
def lakehouse(tmp_path: Path) -> dict[str, str]:
    paths = {
        t.name: str(tmp_path / "lakehouse" / t.name) for t in (CHARACTER_ATTRIBUTES, GROUP_FEATURES)
    }
    write_deltalake(paths[CHARACTER_ATTRIBUTES.name], attributes())
    write_deltalake(paths[GROUP_FEATURES.name], group_rows(HISTORY))
    return paths


@pytest.fixture
def store(tmp_path: Path) -> FeastStore:
    return FeastStore(tmp_path / "feature_store")


def lookup(store: FeastStore, lakehouse: dict[str, str]) -> FeastLookup:
    return FeastLookup(store, pinned_tables(lakehouse))


def spine(rows: list[tuple[str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["page_id", "event_timestamp"])
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    return frame.assign(alive=1)


def test_point_in_time_never_uses_a_value_dated_after_the_row(store, lakehouse):
    rows = spine(
        [("a", "2025-03-01"), ("a", "2025-07-01"), ("a", "2024-12-01"), ("b", "2025-03-01")]
    )
    out = lookup(store, lakehouse).training_set(
        rows, {GROUP_FEATURES.name: ["universe_alive_rate"]}
    )
    assert list(out["page_id"]) == ["a", "a", "a", "b"]  # the spine's order
    rate = out["universe_alive_rate"].tolist()
    assert rate[0] == 0.1  # the 0.9 of 2025-06-01 is in the row's future
    assert rate[1] == 0.9
    assert np.isnan(rate[2])  # nothing known yet
    assert rate[3] == 0.4  # a value dated exactly at the row's time is known
    latest = {"a": 0.9, "b": 0.4}  # what a latest-value join would have used
    assert [latest[k] for k in out["page_id"]] != rate


def test_lineage_names_each_table_version(store, lakehouse):
    versions = lookup(store, lakehouse).versions()
    assert versions[GROUP_FEATURES.name] == {"table": lakehouse[GROUP_FEATURES.name], "version": 0}
    assert versions[CHARACTER_ATTRIBUTES.name]["version"] == 0


def test_online_features_equal_the_offline_features_at_the_same_time(store, lakehouse):
    feature_lookup = lookup(store, lakehouse)
    feature_lookup.publish(AS_OF)
    online = OnlineFeatures(store.repo, lakehouse)
    assert online.refresh()
    offline = feature_lookup.training_set(
        spine([("a", AS_OF), ("b", AS_OF)]),
        {GROUP_FEATURES.name: GROUP_COLUMNS, CHARACTER_ATTRIBUTES.name: list(FEATURE_COLUMNS)},
    ).set_index("page_id")
    feast_online = store.online_features(["a", "b"], {GROUP_FEATURES.name: GROUP_COLUMNS})
    for i, key in enumerate(["a", "b"]):
        served = online.get(key)
        for column in [*GROUP_COLUMNS, *FEATURE_COLUMNS]:
            expected = offline.loc[key, column]
            assert (served[column] is None and pd.isna(expected)) or served[column] == expected, (
                key,
                column,
            )
        for column in GROUP_COLUMNS:  # Feast's own online store holds the same values
            assert feast_online[column][i] == served[column]
    assert online.get("a")["universe_alive_rate"] == 0.9
    assert online.stale() is None


def test_a_record_with_only_a_key_is_completed_and_an_unknown_key_is_named(store, lakehouse):
    nothing_yet = OnlineFeatures(store.repo, lakehouse)  # before any publication: as sent
    assert not nothing_yet.refresh()
    assert nothing_yet.enrich([{"page_id": "a"}], ("universe",)) == [{"page_id": "a"}]
    lookup(store, lakehouse).publish(AS_OF)
    online = OnlineFeatures(store.repo, lakehouse)
    online.refresh()
    [record] = online.enrich([{"page_id": "a", "gender": "Female"}], ("universe", "origin"))
    assert record["universe"] == "universe-a" and record["gender"] == "Female"
    full = {"page_id": "zz", "universe": "Earth-616"}  # carries its attributes: as sent
    assert online.enrich([full], ("universe",)) == [full]
    with pytest.raises(UnknownKeys) as unknown:
        online.enrich([{"page_id": "a"}, {"page_id": "nobody"}], ("universe",))
    assert unknown.value.keys == ["nobody"]


def test_a_newer_offline_version_is_reported_stale_then_published_and_served(store, lakehouse):
    lookup(store, lakehouse).publish(AS_OF)
    online = OnlineFeatures(store.repo, lakehouse)
    online.refresh()
    before = online.version
    write_deltalake(
        lakehouse[GROUP_FEATURES.name],
        group_rows([*HISTORY, ("a", "2025-08-01", 0.5)]),
        mode="overwrite",
    )
    assert "character_group_features (online v0, offline v1)" in online.stale()
    # the monitoring report's check says the same (features_store.lookup.freshness)
    stale = FeastLookup(FeastStore(store.repo), lakehouse).freshness()["stale"]
    assert "character_group_features (online v0, offline v1)" in stale
    assert not online.refresh()  # nothing new published yet: still the old values
    assert online.get("a")["universe_alive_rate"] == 0.9
    lookup(FeastStore(store.repo), lakehouse).publish(AS_OF)
    assert online.refresh()
    assert online.get("a")["universe_alive_rate"] == 0.5
    assert online.version != before and "character_group_features@v1" in online.version
    assert online.stale() is None
    assert FeastLookup(FeastStore(store.repo), lakehouse).freshness()["stale"] is None


def test_a_duplicated_key_in_a_feature_table_is_refused_naming_table_key_column(store, lakehouse):
    write_deltalake(
        lakehouse[GROUP_FEATURES.name],
        group_rows([*HISTORY, ("b", "2025-03-01", 0.2)]),
        mode="overwrite",
    )
    with pytest.raises(
        FeatureTableError, match=r"'character_group_features'.*page_id='b'.*event_timestamp"
    ):
        lookup(store, lakehouse).training_set(
            spine([("b", "2025-04-01")]), {GROUP_FEATURES.name: GROUP_COLUMNS}
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path: Path):
    binary = (
        os.environ.get("MARVEL_REDIS_SERVER")
        or shutil.which("redis-server")
        or "/usr/bin/redis-server"
    )
    if not Path(binary).exists():
        pytest.fail("redis-server is missing: run the tests through `bash project.sh test`")
    port = _free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


def test_redis_online_store_serves_the_published_features(tmp_path, lakehouse, redis_url):
    store = FeastStore(
        tmp_path / "redis_store", online={"type": "redis", "connection_string": redis_url}
    )
    lookup(store, lakehouse).publish(AS_OF)
    served = store.online_features(
        ["a", "b", "nobody"], {GROUP_FEATURES.name: ["universe_alive_rate"]}
    )
    assert served["universe_alive_rate"] == [0.9, 0.4, None]


def test_the_monitoring_report_shows_a_stale_online_store():
    from marvel_mlops.monitoring.report import _feature_store_section

    stale = (
        "online store older than the offline tables: character_attributes (online v1, offline v2)"
    )
    html = "".join(_feature_store_section({"stale": stale}))
    assert "Feature store" in html and "offline v2" in html and 'class="retrain"' in html
    assert 'class="ok"' in "".join(_feature_store_section({"stale": None}))
