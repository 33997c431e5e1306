"""Batch scoring by key: a batch of page_ids alone is scored with features looked up in the
feature tables, as the champion's feature specification (its ``feature_spec`` tag) names
them. Real Spark, real Delta feature tables, a real registered model."""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pytest
from deltalake import write_deltalake

from marvel_mlops.adapters import registry
from marvel_mlops.adapters.feast_store import FeastStore
from marvel_mlops.data.schema import FEATURE_COLUMNS
from marvel_mlops.features_store.definitions import CHARACTER_ATTRIBUTES
from marvel_mlops.features_store.lookup import FeastLookup
from marvel_mlops.pipelines.deployment.nodes import UnknownKeysError, score_batch
from tests.factories import clean_characters, register, train_model

SPEC = {
    "lookup_key": "page_id",
    "timestamp_lookup_key": "event_timestamp",
    "lookups": {CHARACTER_ATTRIBUTES.name: list(FEATURE_COLUMNS)},
    "looked_up": [],
}


def attribute_rows(frame: pd.DataFrame, when: str) -> pd.DataFrame:
    rows = frame[["page_id", *FEATURE_COLUMNS]].copy()
    rows["event_timestamp"] = pd.Timestamp(when, tz="UTC")
    for column, kind in CHARACTER_ATTRIBUTES.features.items():
        rows[column] = rows[column].astype("float64" if kind == "double" else object)
    return rows[CHARACTER_ATTRIBUTES.columns]


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch_by_key")
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    uri = f"sqlite:///{root}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment = mlflow.create_experiment("batch", artifact_location=str(root / "artifacts"))
    train = clean_characters(1500, seed=3)
    model = train_model(train)
    version = register(model, "m", train, {"feature_spec": json.dumps(SPEC)}, experiment)
    yield registry.load_version("m", version, "champion"), root
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def test_a_batch_of_keys_scores_like_the_full_rows_with_the_latest_features(spark, champion):
    model, root = champion
    characters = clean_characters(60, seed=8)
    older = characters.assign(origin="Robot", universe="Earth-1")  # superseded by the later rows
    table = str(root / "lakehouse" / CHARACTER_ATTRIBUTES.name)
    write_deltalake(table, attribute_rows(older, "2025-01-01"))
    write_deltalake(table, attribute_rows(characters, "2025-06-01"), mode="append")
    store = FeastLookup(FeastStore(root / "repo"), {CHARACTER_ATTRIBUTES.name: table})
    event = {"action": "promote", "model_version": model.version}
    keys = spark.createDataFrame(characters[["page_id"]])
    scored = score_batch(keys, model, event, store).toPandas().set_index("page_id")
    expected = model.python_model.predict(None, characters).set_index(characters["page_id"])
    assert scored.loc[expected.index, "probability"].tolist() == pytest.approx(
        expected["probability"].tolist(), abs=1e-12
    )
    unknown = spark.createDataFrame(pd.DataFrame({"page_id": ["Nobody_(Earth-0)"]}))
    with pytest.raises(UnknownKeysError, match=r"'Nobody_\(Earth-0\)'.*character_attributes"):
        score_batch(unknown, model, event, store)
