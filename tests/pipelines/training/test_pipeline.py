"""The training pipeline's pure part as a slice: SequentialRunner on an in-memory catalog,
from the verified training set to the registration request (nothing reaches a registry)."""

import json

import numpy as np
import pandas as pd
import pytest
from deltalake import write_deltalake
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from sklearn.metrics import balanced_accuracy_score

from marvel_mlops.adapters.feast_store import FeastStore
from marvel_mlops.data.processing_run import RAW_DIGEST_COLUMN, RUN_ID_COLUMN
from marvel_mlops.data.schema import FEATURE_COLUMNS
from marvel_mlops.features_store.definitions import CHARACTER_ATTRIBUTES
from marvel_mlops.features_store.lookup import FeastLookup
from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.pipelines.training import create_pipeline
from marvel_mlops.pipelines.training.nodes import choose_decision_threshold, snapshot_baseline
from marvel_mlops.registry_changes import RegistrationRequest
from tests.factories import FEATURES, KeptDataset, clean_characters, train_model

PARAMS = {
    "seed": 3,
    "features": FEATURES,
    "search": {
        "budget": 2,
        "folds": 2,
        "fixed": {},
        "space": {"n_estimators": [30, 60], "num_leaves": [7, 15], "learning_rate": [0.1]},
    },
    "threshold_objective": "f1_macro",
    "importance_top_k": 10,
}
LINEAGE = {"git_commit": "c" * 40, "uv_lock_sha256": "d" * 64, "kedro_run_id": "r1"}
LOOKUPS = {CHARACTER_ATTRIBUTES.name: list(FEATURE_COLUMNS)}
SLICE = (
    "build_training_set",
    "tune_hyperparameters",
    "choose_decision_threshold",
    "train_final_model",
    "plot_feature_importance",
    "cross_validation_metrics",
    "register_challenger",
)


def feature_tables(train: pd.DataFrame, root) -> tuple[pd.DataFrame, dict[str, str]]:
    """character_labels and a character_attributes Delta table for ``train``: each
    character's attributes at its arrival, and a later row (the online snapshot) whose
    values a point-in-time lookup must not use."""
    arrival = pd.Timestamp("2024-06-01", tz="UTC") + pd.to_timedelta(np.arange(len(train)), "h")
    rows = train[["page_id", *FEATURE_COLUMNS]].assign(event_timestamp=arrival)
    later = rows.assign(event_timestamp=pd.Timestamp("2026-01-01", tz="UTC"), origin="Robot")
    table = str(root / CHARACTER_ATTRIBUTES.name)
    write_deltalake(table, pd.concat([rows, later])[CHARACTER_ATTRIBUTES.columns])
    labels = train[["page_id", "alive"]].assign(
        event_timestamp=arrival, fold=np.arange(len(train)) % 2
    )
    return labels, {CHARACTER_ATTRIBUTES.name: table}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> DataCatalog:
    train = clean_characters(1500, seed=4).assign(
        **{RUN_ID_COLUMN: "run-7", RAW_DIGEST_COLUMN: "e" * 64}
    )
    root = tmp_path_factory.mktemp("training_features")
    labels, tables = feature_tables(train, root)
    catalog = DataCatalog(
        {
            "verified_train_set": MemoryDataset(train),
            "character_labels@pandas": MemoryDataset(labels),
            "feature_store": MemoryDataset(
                FeastLookup(FeastStore(root / "repo"), tables), copy_mode="assign"
            ),
            "params:training.feature_lookups": MemoryDataset(LOOKUPS),
            **{f"params:training.{key}": MemoryDataset(value) for key, value in PARAMS.items()},
            "train_set_version": MemoryDataset({"table": "/lake/train_set", "version": 4}),
            "test_set_version": MemoryDataset({"table": "/lake/test_set", "version": 2}),
            "run_lineage": MemoryDataset(LINEAGE),
            **{
                name: KeptDataset()
                for name in (
                    "training_set",
                    "feature_spec",
                    "best_hyperparameters",
                    "cv_results",
                    "out_of_fold_predictions",
                    "decision_threshold",
                    "threshold_plot",
                    "trained_model",
                    "feature_importance_plot",
                    "cv_metrics",
                    "model_registration",
                )
            },
        }
    )
    SequentialRunner().run(create_pipeline().only_nodes(*(f"training.{n}" for n in SLICE)), catalog)
    return catalog


def test_the_search_tries_its_budget_and_keeps_the_best(outputs):
    results = outputs.load("cv_results")
    assert len(results) == PARAMS["search"]["budget"]
    best = outputs.load("best_hyperparameters")
    best_row = results.loc[results["cv_roc_auc"].idxmax()]
    assert best["num_leaves"] == best_row["num_leaves"]
    metrics = outputs.load("cv_metrics")
    assert metrics["cv_roc_auc_best"]["value"] == pytest.approx(results["cv_roc_auc"].max())
    assert [p["step"] for p in metrics["cv_roc_auc_by_candidate"]] == list(results["candidate"])


def test_the_registration_request_carries_every_lineage_tag(outputs):
    request = outputs.load("model_registration")
    assert isinstance(request, RegistrationRequest)
    threshold = outputs.load("decision_threshold")["threshold"]
    assert request.tags == {
        **LINEAGE,
        "train_set_table": "/lake/train_set",
        "train_set_delta_version": "4",
        "test_set_table": "/lake/test_set",
        "test_set_delta_version": "2",
        "decision_threshold": f"{threshold:.6f}",
        "processing_run_id": "run-7",
        "raw_file_sha256": "e" * 64,
        "feature_spec": json.dumps(
            {
                "lookup_key": "page_id",
                "lookups": LOOKUPS,
                "looked_up": [],
                "timestamp_lookup_key": "event_timestamp",
            },
            sort_keys=True,
        ),
        "character_attributes_table": request.tags["character_attributes_table"],
        "character_attributes_delta_version": "0",
    }
    assert request.tags["character_attributes_table"].endswith("character_attributes")
    assert list(request.input_example.columns) == list(INPUT_COLUMNS)
    assert len(request.input_example) == 5
    assert request.python_model.threshold == threshold
    inputs = [c.name for c in request.signature.inputs.inputs]
    assert inputs == list(INPUT_COLUMNS) and not any(
        c.required for c in request.signature.inputs.inputs
    )


def test_training_rows_are_looked_up_as_of_their_timestamp(outputs):
    rows = outputs.load("training_set")
    train = outputs.load("verified_train_set")
    assert list(rows["page_id"]) == list(train["page_id"])  # train_set's order
    # the arrival rows' values, never the later row's origin "Robot"
    pd.testing.assert_series_equal(
        rows["origin"].reset_index(drop=True), train["origin"].reset_index(drop=True)
    )
    assert outputs.load("feature_spec")["tables"]["character_attributes"]["version"] == 0


def test_the_threshold_is_the_best_point_of_its_curve():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    probability = np.clip(y * 0.3 + rng.random(400) * 0.7, 0, 1)
    oof = pd.DataFrame({"alive": y, "oof_probability": probability})
    chosen, _ = choose_decision_threshold(oof, "balanced_accuracy")

    def score(threshold: float) -> float:  # computed here, not by the code under test
        return balanced_accuracy_score(y, (probability >= threshold).astype(int))

    assert chosen["oof_score"] == pytest.approx(score(chosen["threshold"]))
    assert all(score(t) <= chosen["oof_score"] + 1e-12 for t in np.linspace(0.05, 0.95, 91))
    assert 0.05 <= chosen["threshold"] <= 0.95


def test_the_baseline_snapshot_labels_with_the_models_threshold():
    train = clean_characters(600, seed=8)
    model = train_model(train, threshold=0.7)
    baseline = snapshot_baseline(model, train, {"version": "12"})
    assert set(baseline["model_version"]) == {"12"} and len(baseline) == len(train)
    assert ((baseline["probability"] >= 0.7) == (baseline["label"] == 1)).all()
