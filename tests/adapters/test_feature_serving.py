"""Databricks Feature Serving through the real databricks-sdk against the recorded stub API."""

from marvel_mlops.adapters.feature_serving import FeatureEndpointSpec, ensure_feature_endpoint
from marvel_mlops.datasets import FeatureServingEndpointDataset
from marvel_mlops.pipelines.deployment.nodes import feature_serving_spec
from tests.adapters.test_model_serving import PREFIX, client, stub, writes  # noqa: F401

SPEC = FeatureEndpointSpec(
    name="marvel-features-dev", feature_spec="mlops_dev.marvel_characters.character_features"
)


def test_creates_a_feature_serving_endpoint_for_the_feature_spec(stub):  # noqa: F811
    assert ensure_feature_endpoint(client(stub), SPEC)["action"] == "created"
    [(method, path, body)] = writes(stub)
    assert (method, path) == ("POST", PREFIX)
    assert body["name"] == "marvel-features-dev"
    [entity] = body["config"]["served_entities"]
    assert entity == {
        "name": "features",
        "entity_name": "mlops_dev.marvel_characters.character_features",
        "workload_size": "Small",
        "scale_to_zero_enabled": True,
    }
    assert "entity_version" not in entity  # a feature spec has no version


def test_nothing_is_sent_when_the_endpoint_serves_the_spec(stub):  # noqa: F811
    ensure_feature_endpoint(client(stub), SPEC)
    stub.requests.clear()
    assert ensure_feature_endpoint(client(stub), SPEC)["action"] == "unchanged"
    assert writes(stub) == []


def test_a_new_feature_spec_updates_the_served_entity(stub):  # noqa: F811
    ensure_feature_endpoint(client(stub), SPEC)
    stub.requests.clear()
    newer = FeatureEndpointSpec(SPEC.name, "mlops_dev.marvel_characters.character_features_v2")
    assert ensure_feature_endpoint(client(stub), newer)["action"] == "updated"
    [(method, path, body)] = writes(stub)
    assert (method, path) == ("PUT", f"{PREFIX}/marvel-features-dev/config")
    assert body["served_entities"][0]["entity_name"].endswith("character_features_v2")


def test_the_deployment_spec_is_applied_by_the_feature_serving_dataset(stub, tmp_path):  # noqa: F811
    """deployment's pure node → FeatureServingEndpointDataset → the real SDK's requests."""
    params = {
        "name": "marvel-features-dev",
        "feature_spec": "dev.marvel.character_features",
        "workload_size": "Small",
        "scale_to_zero": True,
        "tables": {"character_attributes": "dev.marvel.character_attributes"},
        "features": {"character_attributes": ["universe", "origin"]},
    }
    spec = feature_serving_spec({"deployment_id": "d1"}, params)
    assert spec["lookups"] == {"dev.marvel.character_attributes": ["universe", "origin"]}
    record = tmp_path / "feature_serving_endpoint.json"
    dataset = FeatureServingEndpointDataset(
        filepath=str(record),
        create_feature_spec=False,  # a Unity Catalog function: needs a workspace
        client_config={"host": stub.url, "token": "dapi-test-token", "auth_type": "pat"},
    )
    dataset.save(spec)
    [(method, path, body)] = writes(stub)
    assert (method, path) == ("POST", PREFIX)
    assert body["config"]["served_entities"][0]["entity_name"] == "dev.marvel.character_features"
    saved = dataset.load()
    assert saved["action"] == "created" and saved["deployment_id"] == "d1"
    stub.requests.clear()
    dataset.save(spec)  # a rerun sends nothing but the read
    assert writes(stub) == [] and dataset.load()["action"] == "unchanged"
