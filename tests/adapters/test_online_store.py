"""Databricks Online Feature Store through the real databricks-sdk against a local stub API.

The stub answers like the feature-store REST API (online stores, table publishing) and
records every request; the tests assert what the real client sent, through the dataset the
``conf/databricks`` catalog builds.
"""

import pytest
from kedro.io import DataCatalog

from marvel_mlops.adapters.online_store import OnlineStoreSpec, online_table_name
from marvel_mlops.datasets import DatabricksFeatureStoreDataset
from tests.adapters.test_model_serving import serving
from tests.conf.test_databricks_conf import loader

STORES = "/api/2.0/feature-store/online-stores"
TABLES = "/api/2.0/feature-store/tables/"


class StubFeatureStoreApi:
    """Online stores and published tables, in memory."""

    def __init__(self):
        self.stores: dict[str, dict] = {}
        self.published: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict | None]] = []

    def handle(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:  # noqa: PLR0911
        if not path.startswith("/api/2.0/feature-store/"):  # e.g. the SDK's host metadata probe
            return 404, {"error_code": "NOT_FOUND", "message": path}
        self.requests.append((method, path, body))
        if method == "POST" and path == STORES:
            if body["name"] in self.stores:
                return 409, {"error_code": "RESOURCE_ALREADY_EXISTS", "message": body["name"]}
            self.stores[body["name"]] = {**body, "state": "STARTING"}
            return 200, self.stores[body["name"]]
        if method == "GET" and path.startswith(f"{STORES}/"):
            name = path[len(STORES) + 1 :]
            if name not in self.stores:
                return 404, {
                    "error_code": "RESOURCE_DOES_NOT_EXIST",
                    "message": f"{name} not found",
                }
            return 200, self.stores[name]
        if method == "POST" and path.startswith(TABLES) and path.endswith("/publish"):
            spec = body["publish_spec"]
            if spec["online_store"] not in self.stores:
                return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such store"}
            source = path[len(TABLES) : -len("/publish")]
            pipeline = self.published.get(source, {}).get("pipeline_id", f"pipeline-{source}")
            self.published[source] = {**spec, "pipeline_id": pipeline}
            return 200, {"online_table_name": spec["online_table_name"], "pipeline_id": pipeline}
        return 400, {"error_code": "BAD_REQUEST", "message": f"{method} {path}"}


@pytest.fixture
def api():
    with serving(StubFeatureStoreApi()) as stub:
        yield stub


def feature_store(api, **overrides) -> DatabricksFeatureStoreDataset:
    """The ``feature_store`` entry of conf/databricks, pointed at the stub."""
    entry = loader(catalog="mlops_acc")["catalog"]["feature_store"]
    entry = {**entry, "client_config": {"host": api.url, "token": "dapi-x", "auth_type": "pat"}}
    return DataCatalog.from_config({"feature_store": {**entry, **overrides}}).get("feature_store")


def test_the_first_publication_creates_the_store_and_publishes_every_table(api):
    feature_store(api).save({"as_of": "2026-11-23T00:00:00+00:00", "tables": {}})
    create, *publishes = [(m, p, b) for m, p, b in api.requests if m != "GET"]
    assert create == ("POST", STORES, {"name": "marvel-online-dev", "capacity": "CU_1"})
    schema = "mlops_acc.marvel_characters"
    assert [(m, p) for m, p, _ in publishes] == [
        ("POST", f"{TABLES}{schema}.character_attributes/publish"),
        ("POST", f"{TABLES}{schema}.character_group_features/publish"),
    ]
    assert publishes[1][2]["publish_spec"] == {
        "online_store": "marvel-online-dev",
        "online_table_name": f"{schema}.character_group_features_online",
        "publish_mode": "TRIGGERED",
    }


def test_a_later_publication_syncs_the_tables_again_without_creating_the_store(api):
    feature_store(api).save({"as_of": "2026-11-23T00:00:00+00:00", "tables": {}})
    pipelines = {t: p["pipeline_id"] for t, p in api.published.items()}
    api.requests.clear()
    feature_store(api).save({"as_of": "2026-11-24T00:00:00+00:00", "tables": {}})
    methods = [(m, p.rsplit("/", 1)[-1]) for m, p, _ in api.requests]
    assert methods == [("GET", "marvel-online-dev"), ("POST", "publish"), ("POST", "publish")]
    assert {t: p["pipeline_id"] for t, p in api.published.items()} == pipelines


def test_the_store_settings_are_checked_before_any_request(api):
    with pytest.raises(Exception, match=r"online_store\.capacity: 'CU_3'"):
        feature_store(api, online_store={"name": "s", "capacity": "CU_3"})
    with pytest.raises(ValueError, match=r"online_store\.publish_mode: 'DAILY'"):
        OnlineStoreSpec("s", publish_mode="DAILY")
    with pytest.raises(ValueError, match="is not <catalog>.<schema>.<table>"):
        online_table_name("character_attributes")
    assert api.requests == []
