"""Scoring by key: a batch of page_ids alone is scored with features looked up in the
feature tables, as the champion's feature specification (its ``feature_spec`` tag) names
them; evaluation looks a model's looked-up columns up as of each test row's arrival.
Real Spark, real Delta feature tables, a real registered model."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from deltalake import write_deltalake

from marvel_mlops.adapters import registry
from marvel_mlops.adapters.feast_store import FeastStore
from marvel_mlops.data.schema import FEATURE_COLUMNS
from marvel_mlops.features_store.definitions import CHARACTER_ATTRIBUTES, GROUP_FEATURES
from marvel_mlops.features_store.lookup import FeastLookup
from marvel_mlops.pipelines.deployment.nodes import UnknownKeysError, score_batch
from marvel_mlops.pipelines.evaluation.nodes import score_candidates
from tests.factories import FEATURES, clean_characters, register, train_model

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
    yield registry.load_version("m", version, "champion"), root, experiment
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def test_a_batch_of_keys_scores_like_the_full_rows_with_the_latest_features(spark, champion):
    model, root, _ = champion
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


def test_evaluation_gives_a_model_its_looked_up_columns_as_of_each_rows_arrival(champion):
    """A model that takes a group feature is evaluated on test rows that do not carry it:
    the feature comes from the feature table as of the row's arrival, never later."""
    _, root, experiment = champion
    train, test = clean_characters(1200, seed=21), clean_characters(80, seed=22)
    rng = np.random.default_rng(0)
    train["universe_alive_rate"] = 0.8 * train["alive"] + 0.2 * rng.random(
        len(train)
    )  # informative
    model = train_model(train, features={**FEATURES, "looked_up": ["universe_alive_rate"]})
    spec = {**SPEC, "lookups": {GROUP_FEATURES.name: ["universe_alive_rate"]}}
    version = register(model, "g", train, {"feature_spec": json.dumps(spec)}, experiment)
    looked_up_model = registry.load_version("g", version, "challenger")
    tables = {n: str(root / "eval" / n) for n in (CHARACTER_ATTRIBUTES.name, GROUP_FEATURES.name)}
    write_deltalake(tables[CHARACTER_ATTRIBUTES.name], attribute_rows(test, "2025-01-01"))
    at_arrival = test[["page_id"]].assign(
        event_timestamp=pd.Timestamp("2025-01-01", tz="UTC"), universe_alive_rate=0.1
    )
    later = at_arrival.assign(
        event_timestamp=pd.Timestamp("2025-09-01", tz="UTC"), universe_alive_rate=0.9
    )
    groups = pd.concat([at_arrival, later])
    for column in GROUP_FEATURES.features:
        if column != "universe_alive_rate":
            groups[column] = 1.0
    write_deltalake(tables[GROUP_FEATURES.name], groups[GROUP_FEATURES.columns])
    store = FeastLookup(FeastStore(root / "eval_repo"), tables)
    scored = score_candidates(test, looked_up_model, None, {"version": version}, store)
    expected = model.predict_proba(test.assign(universe_alive_rate=0.1))
    assert scored["p_challenger"].tolist() == pytest.approx(expected.tolist(), abs=1e-12)
    assert not np.allclose(expected, model.predict_proba(test.assign(universe_alive_rate=0.9)))
