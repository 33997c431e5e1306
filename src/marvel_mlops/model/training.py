"""Fitting the pipeline: features + LightGBM, a bounded random search, the threshold."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.model_selection import ParameterSampler, StratifiedKFold
from sklearn.pipeline import Pipeline

from marvel_mlops.model.classification_metrics import roc_auc, threshold_score
from marvel_mlops.model.features import CharacterFeatures

logger = logging.getLogger(__name__)


def build_pipeline(
    feature_params: dict[str, Any], model_params: dict[str, Any], seed: int
) -> Pipeline:
    """The scikit-learn pipeline the registered model wraps."""
    model = LGBMClassifier(
        random_state=seed,
        n_jobs=2,
        verbose=-1,
        deterministic=True,
        force_col_wise=True,
        **model_params,
    )
    return Pipeline([("features", CharacterFeatures(**feature_params)), ("model", model)])


def fit_pipeline(pipeline: Pipeline, X: pd.DataFrame, y: np.ndarray) -> Pipeline:
    """Fits features then LightGBM, telling LightGBM which columns are categorical codes."""
    features = pipeline.named_steps["features"].fit(X)
    matrix = features.transform(X)
    pipeline.named_steps["model"].fit(matrix, y, categorical_feature=features.categorical_indices_)
    return pipeline


def out_of_fold_probabilities(
    X: pd.DataFrame,
    y: np.ndarray,
    feature_params: dict,
    model_params: dict,
    folds: int,
    seed: int,
) -> np.ndarray:
    """Probabilities for every training row from a model that did not see it."""
    oof = np.zeros(len(y))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_idx, val_idx in splitter.split(X, y):
        pipeline = build_pipeline(feature_params, model_params, seed)
        fit_pipeline(pipeline, X.iloc[fit_idx], y[fit_idx])
        oof[val_idx] = pipeline.predict_proba(X.iloc[val_idx])[:, 1]
    return oof


def search_hyperparameters(
    X: pd.DataFrame,
    y: np.ndarray,
    feature_params: dict,
    search: dict[str, Any],
    seed: int,
    progress: Callable[[int, int, dict, float, float], None] | None = None,
) -> tuple[dict[str, Any], pd.DataFrame, np.ndarray]:
    """Random search over ``search['space']`` scored by cross-validated ROC AUC.

    Returns the best parameters, one row of results per candidate, and the best
    candidate's out-of-fold probabilities (used to choose the threshold).
    """
    candidates = list(ParameterSampler(search["space"], n_iter=search["budget"], random_state=seed))
    candidates = [{**search.get("fixed", {}), **c} for c in candidates]
    rows, best = [], (-np.inf, None, None)
    for i, params in enumerate(candidates, start=1):
        start = time.perf_counter()
        oof = out_of_fold_probabilities(X, y, feature_params, params, search["folds"], seed)
        score = roc_auc(y, oof)
        rows.append(
            {"candidate": i, **params, "cv_roc_auc": score, "seconds": time.perf_counter() - start}
        )
        if progress:
            progress(i, len(candidates), params, score, rows[-1]["seconds"])
        if score > best[0]:
            best = (score, params, oof)
    return best[1], pd.DataFrame(rows), best[2]


def choose_threshold(
    y: np.ndarray, probability: np.ndarray, objective: str, grid: int = 181
) -> tuple[float, pd.DataFrame]:
    """The probability cut-off that maximises ``objective`` on out-of-fold predictions."""
    thresholds = np.linspace(0.05, 0.95, grid)
    scores = np.array([threshold_score(y, probability, t, objective) for t in thresholds])
    best = int(np.argmax(scores))
    curve = pd.DataFrame({"threshold": thresholds, objective: scores})
    return float(thresholds[best]), curve
