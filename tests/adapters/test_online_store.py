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

    def __init__(self, reads_until_available: int = 1):
        self.reads_until_available = reads_until_available  # a new store starts STARTING
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
            store = self.stores[name]
            if store["state"] == "STARTING":
                self.reads_until_available -= 1
                if self.reads_until_available <= 0:
                    store["state"] = "AVAILABLE"
            return 200, store
        if method == "POST" and path.startswith(TABLES) and path.endswith("/publish"):
            spec = body["publish_spec"]
            if spec["online_store"] not in self.stores:
                return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such store"}
            if self.stores[spec["online_store"]]["state"] != "AVAILABLE":
                return 400, {"error_code": "INVALID_STATE", "message": "store not available"}
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
    """The ``feature_store`` entry of conf/databricks, pointed at the stub (polling fast)."""
    entry = loader(catalog="mlops_acc")["catalog"]["feature_store"]
    entry = {
        **entry,
        "online_store": {**entry["online_store"], "poll_s": 0.01},
        "client_config": {"host": api.url, "token": "dapi-x", "auth_type": "pat"},
    }
    return DataCatalog.from_config({"feature_store": {**entry, **overrides}}).get("feature_store")


def test_the_first_publication_creates_the_store_waits_for_it_and_publishes_every_table(api):
    api.reads_until_available = 3
    feature_store(api).save({"as_of": "2026-11-23T00:00:00+00:00", "tables": {}})
    methods = [m for m, _, _ in api.requests]
    assert methods == ["GET", "POST", "GET", "GET", "GET", "POST", "POST"]  # 404, create, polls
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
    first = [b for m, _, b in api.requests if m == "POST"][1:]  # the publishes
    api.requests.clear()
    feature_store(api).save({"as_of": "2026-11-24T00:00:00+00:00", "tables": {}})
    methods = [(m, p.rsplit("/", 1)[-1]) for m, p, _ in api.requests]
    assert methods == [("GET", "marvel-online-dev"), ("POST", "publish"), ("POST", "publish")]
    assert [b for m, _, b in api.requests if m == "POST"] == first  # the same online tables


def test_a_stopped_store_is_an_error_naming_its_state_and_nothing_is_published(api):
    api.stores["marvel-online-dev"] = {"name": "marvel-online-dev", "capacity": "CU_1",
                                       "state": "STOPPED"}  # fmt: skip
    with pytest.raises(Exception, match="online store marvel-online-dev is STOPPED"):
        feature_store(api).save({"as_of": "2026-11-23T00:00:00+00:00", "tables": {}})
    assert [m for m, _, _ in api.requests] == ["GET"] and api.published == {}


def test_a_store_that_never_starts_times_out_naming_its_state(api):
    api.reads_until_available = 10**6
    dataset = feature_store(
        api, online_store={"name": "slow", "available_timeout_s": 0.05, "poll_s": 0.01}
    )
    with pytest.raises(Exception, match=r"online store slow still STARTING after 0 s"):
        dataset.save({"as_of": "2026-11-23T00:00:00+00:00", "tables": {}})
    assert api.published == {}


def test_the_store_settings_are_checked_before_any_request(api):
    with pytest.raises(Exception, match=r"online_store\.capacity: 'CU_3'"):
        feature_store(api, online_store={"name": "s", "capacity": "CU_3"})
    with pytest.raises(ValueError, match=r"online_store\.publish_mode: 'DAILY'"):
        OnlineStoreSpec("s", publish_mode="DAILY")
    with pytest.raises(ValueError, match="is not <catalog>.<schema>.<table>"):
        online_table_name("character_attributes")
    assert api.requests == []
