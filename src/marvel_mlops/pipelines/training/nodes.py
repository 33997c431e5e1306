"""training nodes (pandas, scikit-learn, LightGBM).

Hyperparameters are chosen by a bounded random search scored by cross-validated ROC
AUC on the training set only; the decision threshold is chosen on the best candidate's
out-of-fold probabilities. Class imbalance is handled there (stratified folds, a
threshold that maximises a class-balanced score) so that probabilities stay calibrated.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from marvel_mlops.data.processing_run import RAW_DIGEST_COLUMN, RUN_ID_COLUMN
from marvel_mlops.data.schema import FEATURE_COLUMNS, KEY_COLUMN, LABEL_COLUMN, NUMERIC_FEATURES
from marvel_mlops.errors import PlainError
from marvel_mlops.features_store.definitions import TIMESTAMP_COLUMN
from marvel_mlops.model.decision import alive_labels
from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.model.looked_up import looked_up_columns
from marvel_mlops.model.pyfunc import MarvelCharacterModel
from marvel_mlops.model.training import (
    build_pipeline,
    choose_threshold,
    fit_pipeline,
    search_hyperparameters,
)
from marvel_mlops.registry_changes import RegistrationRequest

logger = logging.getLogger(__name__)


def _log_progress(i: int, total: int, params: dict, score: float, seconds: float) -> None:
    logger.info(
        "Search candidate %d/%d: CV ROC AUC %.4f in %.1f s %s", i, total, score, seconds, params
    )


class TrainingSetError(PlainError, ValueError):
    """The training rows and the feature tables do not match."""


def model_columns(features: dict[str, Any]) -> list[str]:
    """The model's input columns: the raw attributes, then any looked-up feature columns."""
    return [*INPUT_COLUMNS, *(features.get("looked_up") or [])]


def build_training_set(
    train_set: pd.DataFrame,
    labels: pd.DataFrame,
    feature_store: Any,
    lookups: dict[str, list[str]],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The training set from labels, keys and timestamps, features looked up point in time,
    and the feature specification it was built with (lookups and table versions).

    The spine is the processed run's training keys with their label, ``event_timestamp``
    and fold (``character_labels``); every feature comes from the feature tables as of the
    row's timestamp (Feast's ``get_historical_features``, Databricks' ``FeatureLookup``
    with ``timestamp_lookup_key``), in ``train_set``'s row order.
    """
    spine = train_set[[KEY_COLUMN]].merge(labels, on=KEY_COLUMN, how="left", validate="1:1")
    missing = spine[spine[TIMESTAMP_COLUMN].isna()][KEY_COLUMN]
    if len(missing):
        raise TrainingSetError(
            f"{len(missing)} training keys have no row in character_labels (e.g. page_id="
            f"{missing.iloc[0]!r}): run `kedro run --pipelines feature_engineering` first"
        )
    rows = feature_store.training_set(spine, lookups)
    logger.info("Training set: %d rows looked up as of their event_timestamp", len(rows))
    spec = {
        "lookup_key": KEY_COLUMN,
        "timestamp_lookup_key": TIMESTAMP_COLUMN,
        "lookups": lookups,
        "tables": feature_store.versions(),
    }
    return rows, spec


def tune_hyperparameters(
    train_set: pd.DataFrame, features: dict[str, Any], search: dict[str, Any], seed: int
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Bounded random search; returns best parameters, all results, out-of-fold scores.

    With looked-up label aggregates the folds are the ones they were computed out of."""
    X, y = train_set[model_columns(features)], train_set[LABEL_COLUMN].to_numpy()
    folds = train_set["fold"].to_numpy() if features.get("looked_up") else None
    best, results, oof = search_hyperparameters(X, y, features, search, seed, _log_progress, folds)
    logger.info("Best candidate: CV ROC AUC %.4f %s", results["cv_roc_auc"].max(), best)
    return best, results, pd.DataFrame({LABEL_COLUMN: y, "oof_probability": oof})


def choose_decision_threshold(
    out_of_fold: pd.DataFrame, objective: str
) -> tuple[dict[str, Any], Figure]:
    """The threshold maximising ``objective`` on training folds, and its curve."""
    threshold, curve = choose_threshold(
        out_of_fold[LABEL_COLUMN].to_numpy(), out_of_fold["oof_probability"].to_numpy(), objective
    )
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.plot(curve["threshold"], curve[objective])
    axis.axvline(threshold, color="tab:red", linestyle="--", label=f"chosen {threshold:.3f}")
    axis.set(
        xlabel="threshold on P(alive)",
        ylabel=f"out-of-fold {objective}",
        title="Decision threshold (training folds)",
    )
    axis.legend()
    best_score = float(curve[objective].max())
    return {"threshold": threshold, "objective": objective, "oof_score": best_score}, figure


def train_final_model(
    train_set: pd.DataFrame,
    best_params: dict[str, Any],
    threshold: dict[str, Any],
    features: dict[str, Any],
    seed: int,
) -> MarvelCharacterModel:
    """Refits the best candidate on the whole training set and wraps it as a pyfunc."""
    pipeline = build_pipeline(features, best_params, seed)
    fit_pipeline(pipeline, train_set[model_columns(features)], train_set[LABEL_COLUMN].to_numpy())
    return MarvelCharacterModel(pipeline, threshold["threshold"])


def plot_feature_importance(model: MarvelCharacterModel, top_k: int) -> Figure:
    """Gain importance of the ``top_k`` features, as a horizontal bar chart."""
    gains = model.booster.feature_importance(importance_type="gain")
    names = model.features.get_feature_names_out()
    top = pd.Series(gains, index=names).sort_values().tail(top_k)
    figure, axis = plt.subplots(figsize=(7, 0.28 * len(top) + 1.2))
    axis.barh(top.index, top.to_numpy())
    axis.set(xlabel="total gain", title="Feature importance (LightGBM gain)")
    figure.tight_layout()
    return figure


def cross_validation_metrics(cv_results: pd.DataFrame, threshold: dict[str, Any]) -> dict:
    """CV metrics for MLflow: each candidate's ROC AUC by step, best AUC, threshold."""
    history = [
        {"value": float(v), "step": int(s)}
        for s, v in zip(cv_results["candidate"], cv_results["cv_roc_auc"], strict=True)
    ]
    return {
        "cv_roc_auc_by_candidate": history,
        "cv_roc_auc_best": {"value": float(cv_results["cv_roc_auc"].max()), "step": 0},
        "oof_threshold_score": {"value": threshold["oof_score"], "step": 0},
        "decision_threshold": {"value": threshold["threshold"], "step": 0},
    }


def model_signature(looked_up: tuple[str, ...] = ()) -> ModelSignature:
    """Raw character attributes (and looked-up feature columns) in, all optional;
    probability/label/version out."""
    inputs = Schema(
        [
            ColSpec("double" if c in NUMERIC_FEATURES else "string", c, required=False)
            for c in INPUT_COLUMNS
        ]
        + [ColSpec("double", c, required=False) for c in looked_up]
    )
    outputs = Schema(
        [
            ColSpec("double", "probability"),
            ColSpec("long", "label"),
            ColSpec("string", "model_version"),
        ]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)


def registration_request(
    model: MarvelCharacterModel,
    train_set: pd.DataFrame,
    train_version: dict,
    test_version: dict,
    best_params: dict[str, Any],
    run_lineage: dict[str, str],
    feature_spec: dict[str, Any],
) -> RegistrationRequest:
    """What to register: the model, its signature and example, and every lineage tag
    (commit, lock file, data versions, processing run, threshold, the feature
    specification and each feature table's version)."""
    tags = {
        **run_lineage,
        **feature_tags(feature_spec, model.features),
        "train_set_table": train_version["table"],
        "train_set_delta_version": str(train_version["version"]),
        "test_set_table": test_version["table"],
        "test_set_delta_version": str(test_version["version"]),
        "decision_threshold": f"{model.threshold:.6f}",
    }
    if RUN_ID_COLUMN in train_set.columns and len(train_set):
        tags["processing_run_id"] = str(train_set[RUN_ID_COLUMN].iloc[0])
        tags["raw_file_sha256"] = str(train_set[RAW_DIGEST_COLUMN].iloc[0])
    return RegistrationRequest(
        python_model=model,
        signature=model_signature(looked_up_columns(model.features)),
        input_example=train_set.reindex(columns=model.input_columns).head(5),
        tags=tags,
        training_rows=train_set,
        train_set_version=train_version,
        test_set_version=test_version,
        hyperparameters=best_params,
    )


def feature_tags(feature_spec: dict[str, Any], features: Any) -> dict[str, str]:
    """The ``feature_spec`` tag (lookup key, timestamp key, lookups, the columns the model
    takes from the store) and each feature table's name and Delta version."""
    looked_up = list(looked_up_columns(features))
    spec = {k: v for k, v in feature_spec.items() if k != "tables"} | {"looked_up": looked_up}
    tags = {"feature_spec": json.dumps(spec, sort_keys=True)}
    for name, used in feature_spec["tables"].items():
        tags[f"{name}_table"] = str(used["table"])
        tags[f"{name}_delta_version"] = str(used["version"])
    return tags


def snapshot_baseline(
    model: MarvelCharacterModel, train_set: pd.DataFrame, registration: dict[str, Any]
) -> pd.DataFrame:
    """The model version's training rows with its own predictions: the drift baseline.

    Kept as rows keyed by model version rather than as a time-travel read of train_set,
    which VACUUM (7 days by default, automatic under predictive optimisation) removes.
    """
    rows = train_set[[KEY_COLUMN, *FEATURE_COLUMNS]].reset_index(drop=True)
    probability = model.predict_proba(rows)
    return rows.assign(
        probability=probability,
        label=alive_labels(probability, model.threshold).astype("int32"),
        model_version=str(registration["version"]),
    )
