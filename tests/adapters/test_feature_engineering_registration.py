"""Registration with a feature spec (Databricks): the real ``databricks-feature-engineering``
``log_model`` on a real local MLflow registry and Spark session.

``create_training_set`` is the one call that needs a workspace: Unity Catalog resolves the
tables and the server writes the feature spec. The training set it returns is built here
with the package's own classes, from the arguments our code passes to it and the feature
table's rows; everything after it (packaging, signature, registration, loading
the version back for scoring) runs the code that runs on Databricks.
"""

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from databricks.ml_features.entities.feature_table import FeatureTable
from databricks.ml_features.entities.training_set import TrainingSet
from databricks.ml_features_common.entities.column_info import ColumnInfo
from databricks.ml_features_common.entities.feature_column_info import FeatureColumnInfo
from databricks.ml_features_common.entities.feature_spec import FeatureSpec
from databricks.ml_features_common.entities.feature_table_info import FeatureTableInfo
from databricks.ml_features_common.entities.source_data_column_info import SourceDataColumnInfo

from marvel_mlops.adapters import registry
from marvel_mlops.adapters.feature_engineering import (
    feature_lookups,
    serving_training_set_arguments,
)
from marvel_mlops.data.schema import FEATURE_COLUMNS, LABEL_COLUMN
from marvel_mlops.datasets import ModelRegistrationDataset
from marvel_mlops.features_store.definitions import TIMESTAMP_COLUMN
from marvel_mlops.model.pyfunc import MarvelCharacterModel
from marvel_mlops.pipelines.training.nodes import model_signature, registration_request
from marvel_mlops.registry_changes import serving_lookups
from marvel_mlops.serving.models import UriSource
from tests.adapters.test_model_serving import StubServingApi, serving
from tests.factories import train_model

NAME = "fe_model"
TABLE = "mlops_dev.marvel_characters.character_attributes"
LINEAGE = {"git_commit": "e" * 40, "kedro_run_id": "run-fe"}


def request_for(model, train):
    """The training node's registration request for a model that looks its attributes up."""
    return registration_request(
        model,
        train,
        {"table": "mlops_dev.marvel_characters.train_set", "version": 4},
        {"table": "mlops_dev.marvel_characters.test_set", "version": 2},
        {"num_leaves": 15},
        LINEAGE,
        {
            "lookup_key": "page_id",
            "timestamp_lookup_key": TIMESTAMP_COLUMN,
            "lookups": {"character_attributes": list(FEATURE_COLUMNS)},
            "tables": {"character_attributes": {"table": TABLE, "version": 7}},
        },
    )


def created_training_set(spark, arguments: dict, rows: pd.DataFrame) -> TrainingSet:
    """What ``create_training_set(**arguments)`` returns, minus the workspace: the feature
    spec of exactly these lookups, spine columns and exclusions, over the table ``rows``."""
    spine, label = arguments["df"], arguments["label"]
    columns = [
        ColumnInfo(SourceDataColumnInfo(c), include=c not in arguments["exclude_columns"])
        for c in spine.columns
        if c != label
    ]
    for lookup in arguments["feature_lookups"]:
        keys = [lookup.lookup_key] if isinstance(lookup.lookup_key, str) else lookup.lookup_key
        stamp = lookup.timestamp_lookup_key
        for feature in lookup.feature_names:
            info = FeatureColumnInfo(
                lookup.table_name, feature, keys, feature, [stamp] if stamp else []
            )
            columns.append(ColumnInfo(info, include=True))
    tables = sorted({lookup.table_name for lookup in arguments["feature_lookups"]})
    spec = FeatureSpec(
        columns, [FeatureTableInfo(t, f"id-{t}") for t in tables], [], 1, "0.18.2", 7
    )
    metadata = {  # a time series feature table: primary key page_id, timeseries event_timestamp
        t: FeatureTable(t, f"id-{t}", "", ["page_id"], [], [], timestamp_keys=[TIMESTAMP_COLUMN])
        for t in tables
    }
    data = {t: spark.createDataFrame(rows) for t in tables}
    return TrainingSet(spec, spark.createDataFrame(spine), [label], metadata, data, {})


@pytest.fixture
def workspace(monkeypatch):
    """Databricks credentials pointing at a local stub: the client is built as on a job."""
    with serving(StubServingApi()) as api:
        monkeypatch.setenv("DATABRICKS_HOST", api.url)
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test-token")
        yield api


@pytest.fixture
def registered(spark, mlflow_registry, workspace, small_characters):
    """A version logged through ``log_model`` with the spec of our serving lookups."""
    train = small_characters[0].head(800)
    model = train_model(train)
    request = request_for(model, train)
    arguments = serving_training_set_arguments(
        request.training_rows, serving_lookups(request.tags), pd.Timestamp("2026-01-01")
    )
    rows = train[["page_id", *FEATURE_COLUMNS]].assign(
        **{TIMESTAMP_COLUMN: pd.Timestamp("2024-01-01")}
    )
    training_set = created_training_set(spark, arguments, rows)
    with mlflow.start_run():
        info = registry.log_and_register(
            request.python_model,
            NAME,
            request.signature,
            request.input_example,
            request.tags,
            training_set=training_set,
        )
    return model, train, info


def test_the_feature_tables_named_by_the_tags_are_looked_up_by_key_alone(small_characters):
    train = small_characters[0].head(300)
    request = request_for(train_model(train), train)
    lookups = serving_lookups(request.tags)
    assert lookups == {TABLE: list(FEATURE_COLUMNS)}
    now = pd.Timestamp("2026-01-01")
    arguments = serving_training_set_arguments(request.training_rows, lookups, now)
    (lookup,) = arguments["feature_lookups"]
    assert (lookup.table_name, lookup.lookup_key) == (TABLE, "page_id")
    assert lookup.feature_names == list(FEATURE_COLUMNS)
    assert lookup.timestamp_lookup_key == TIMESTAMP_COLUMN
    assert list(arguments["df"].columns) == ["page_id", LABEL_COLUMN, TIMESTAMP_COLUMN]
    assert len(arguments["df"]) == 1 and (arguments["df"][TIMESTAMP_COLUMN] == now).all()
    assert arguments["exclude_columns"] == [TIMESTAMP_COLUMN]  # a lookup key, not an input
    (served,) = feature_lookups(lookups, None)  # a Feature Serving spec: latest row per key
    assert served.table_name == TABLE and not served.timestamp_lookup_key


def test_a_lookup_without_its_table_tag_is_refused_naming_the_tag():
    tags = {"feature_spec": json.dumps({"lookups": {"character_attributes": ["universe"]}})}
    with pytest.raises(ValueError, match="'character_attributes_table' missing"):
        serving_lookups(tags)
    assert serving_lookups({"feature_spec": json.dumps({"lookups": {}})}) == {}


def test_the_version_carries_its_feature_spec_and_takes_key_and_time_alone(registered):
    _, _, info = registered
    uri = f"models:/{NAME}/{info['version']}"
    model_info = mlflow.models.get_model_info(uri)
    assert model_info.flavors["python_function"]["loader_module"] == registry.FEATURE_STORE_LOADER
    required = [c.name for c in model_info.signature.inputs.inputs if c.required]
    assert required == ["page_id", TIMESTAMP_COLUMN]  # the features are looked up
    # what the pyfunc returns, not the label type the package would derive
    assert model_info.signature.outputs == model_signature([]).outputs
    local = Path(mlflow.artifacts.download_artifacts(uri))
    spec = yaml.safe_load((local / "data/feature_store/feature_spec.yaml").read_text())
    looked_up = {name: column for entry in spec["input_columns"] for name, column in entry.items()}
    for feature in FEATURE_COLUMNS:
        assert looked_up[feature]["table_name"] == TABLE
        assert looked_up[feature]["lookup_key"] == ["page_id"]
        assert looked_up[feature]["timestamp_lookup_key"] == [TIMESTAMP_COLUMN]
    assert looked_up[TIMESTAMP_COLUMN]["include"] is False
    example = json.loads((local / "serving_input_example.json").read_text())
    assert set(example["inputs"]) == {"page_id", TIMESTAMP_COLUMN}  # what a request sends
    # Model Serving installs the lookup client from the model's own requirements.
    assert "databricks-feature-lookup" in (local / "requirements.txt").read_text()


def test_the_version_is_tagged_and_loads_as_the_project_model_for_scoring(registered):
    model, train, info = registered
    loaded = registry.load_version(NAME, info["version"])
    assert loaded.tags["character_attributes_table"] == TABLE
    assert loaded.tags["git_commit"] == LINEAGE["git_commit"]
    assert type(loaded.python_model).__name__ == MarvelCharacterModel.__name__
    batch = train[model.input_columns].head(50)
    scored = loaded.pyfunc.predict(batch)
    expected = model.predict(None, batch)
    pd.testing.assert_series_equal(
        scored["probability"].reset_index(drop=True),
        expected["probability"].reset_index(drop=True),
    )
    assert set(scored["model_version"]) == {info["version"]}  # the model config reaches it


def test_the_server_loads_such_a_version_by_its_uri(registered):
    model, train, info = registered
    source = UriSource(f"models:/{NAME}/{info['version']}", NAME)
    served = source.load(info["version"])
    records = train[model.input_columns].head(20).to_dict("records")
    probabilities, _ = served.score(records)
    expected = model.predict(None, train[model.input_columns].head(20))["probability"]
    assert probabilities == pytest.approx(expected.tolist())


def test_without_feature_lookup_the_registration_is_a_plain_pyfunc(
    mlflow_registry, small_characters
):
    train = small_characters[0].head(300)
    request = request_for(train_model(train), train)
    dataset = ModelRegistrationDataset(model_name="plain", alias="challenger")
    with mlflow.start_run():
        dataset.save(request)
    flavor = mlflow.models.get_model_info("models:/plain/1").flavors["python_function"]
    assert flavor["loader_module"] == "mlflow.pyfunc.model"


def test_a_model_directory_is_loaded_without_asking_the_tracking_server(
    mlflow_registry, small_characters, tmp_path
):
    train = small_characters[0].head(300)
    request = request_for(train_model(train), train)
    with mlflow.start_run():
        ModelRegistrationDataset(model_name="baked", alias="challenger").save(request)
    local = mlflow.artifacts.download_artifacts("models:/baked/1", dst_path=str(tmp_path / "m"))
    empty = f"sqlite:///{tmp_path}/empty.db"  # as in a baked image: the logged model is unknown
    mlflow.set_tracking_uri(empty)
    mlflow.set_registry_uri(empty)
    assert registry.pyfunc_uri(local) == local
