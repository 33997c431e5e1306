"""The registry datasets on a real SQLite MLflow registry: a registration request becomes
a tagged version behind ``challenger``; an alias plan moves aliases and tags versions."""

import json

import mlflow
import pytest
from kedro.io.core import DatasetError

from marvel_mlops.adapters import registry
from marvel_mlops.datasets import (
    ModelAliasesDataset,
    ModelRegistrationDataset,
    RegisteredModelDataset,
)
from marvel_mlops.pipelines.training.nodes import registration_request
from marvel_mlops.registry_changes import AliasPlan
from tests.factories import register, train_model

NAME = "registry_datasets_model"
LINEAGE = {"git_commit": "f" * 40, "kedro_run_id": "run-9"}


def test_a_registration_request_is_registered_tagged_and_made_challenger(
    mlflow_registry, small_characters
):
    train, _ = small_characters
    model = train_model(train.head(800))
    request = registration_request(
        model,
        train.head(800),
        {"table": "/lake/train_set", "version": 3},
        {"table": "/lake/test_set", "version": 1},
        {"num_leaves": 15},
        LINEAGE,
        {"lookups": {}, "tables": {"character_attributes": {"table": "/lake/ca", "version": 5}}},
    )
    dataset = ModelRegistrationDataset(model_name=NAME, alias="challenger")
    with mlflow.start_run() as run:
        dataset.save(request)
    record = dataset.load()
    assert record["version"] == registry.version_for_alias(NAME, "challenger") == "1"
    assert record["run_id"] == run.info.run_id
    assert record["tags"]["train_set_delta_version"] == "3"
    assert record["tags"]["git_commit"] == "f" * 40
    assert record["tags"]["character_attributes_delta_version"] == "5"
    assert json.loads(record["tags"]["feature_spec"]) == {"lookups": {}, "looked_up": []}
    logged = mlflow.get_run(run.info.run_id)
    assert logged.data.params["best.num_leaves"] == "15"
    assert {i.dataset.name for i in logged.inputs.dataset_inputs} == {"train_set", "test_set"}


def test_loading_a_registration_that_does_not_exist_names_model_and_alias(mlflow_registry):
    with pytest.raises(DatasetError, match="'nothing' has no 'challenger' version"):
        ModelRegistrationDataset(model_name="nothing", alias="challenger").load()


def test_an_alias_plan_is_carried_out_and_read_back(mlflow_registry, small_characters):
    train, _ = small_characters
    model = train_model(train.head(600))
    v1, v2 = (register(model, NAME, train) for _ in range(2))
    aliases = ModelAliasesDataset(model_name=NAME)
    aliases.save(AliasPlan(NAME, {"champion": v1, "challenger": v2}))
    plan = AliasPlan(
        NAME,
        set_aliases={"champion": v2, "previous-champion": v1},
        delete_aliases=("challenger",),
        tag_versions={v2: {"previous_champion_version": v1}},
    )
    aliases.save(plan)
    state = aliases.load()
    assert state.aliases == {"champion": v2, "previous-champion": v1}
    assert state.version_tags(v2)["previous_champion_version"] == v1
    assert set(state.tags) == {v1, v2}  # the chain was followed from champion to v1
    assert RegisteredModelDataset(model_name=NAME, alias="champion").load().version == v2
    with pytest.raises(DatasetError, match="for model 'other'"):
        aliases.save(AliasPlan("other", {"champion": v1}))


def test_a_missing_alias_falls_back_or_is_a_clear_error(mlflow_registry, small_characters):
    train, _ = small_characters
    version = register(train_model(train.head(600)), NAME, train)
    registry.set_alias(NAME, "challenger", version)
    monitored = RegisteredModelDataset(
        model_name=NAME, alias="champion", fallback_alias="challenger"
    )
    assert monitored.load().version == version and monitored.load().alias == "challenger"
    with pytest.raises(DatasetError, match="no version with alias 'champion'"):
        RegisteredModelDataset(model_name=NAME, alias="champion").load()
    assert RegisteredModelDataset(model_name=NAME, alias="champion", optional=True).load() is None
