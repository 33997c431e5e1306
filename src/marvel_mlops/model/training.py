"""Fitting the pipeline: features + LightGBM, a bounded random search, the threshold."""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.model_selection import ParameterSampler, PredefinedSplit, StratifiedKFold
from sklearn.pipeline import Pipeline

from marvel_mlops.model.classification_metrics import roc_auc, threshold_score
from marvel_mlops.model.features import CharacterFeatures
from marvel_mlops.model.looked_up import WithLookedUpFeatures

logger = logging.getLogger(__name__)


def build_pipeline(
    feature_params: dict[str, Any], model_params: dict[str, Any], seed: int, threads: int = 2
) -> Pipeline:
    """The scikit-learn pipeline the registered model wraps (LightGBM on ``threads``)."""
    model = build_model(model_params, seed, threads)
    return Pipeline([("features", build_features(feature_params)), ("model", model)])


def build_features(feature_params: dict[str, Any]) -> Any:
    """The pipeline's features step: ``CharacterFeatures``, followed by the columns looked
    up in feature tables when ``feature_params['looked_up']`` names any."""
    looked_up = tuple(feature_params.get("looked_up") or ())
    character_params = {k: v for k, v in feature_params.items() if k != "looked_up"}
    if looked_up:  # columns from feature tables (marvel_mlops.features_store)
        return WithLookedUpFeatures(looked_up, **character_params)
    return CharacterFeatures(**character_params)


def build_model(model_params: dict[str, Any], seed: int, threads: int = 2) -> LGBMClassifier:
    """The pipeline's LightGBM step."""
    return LGBMClassifier(
        random_state=seed,
        n_jobs=threads,
        verbose=-1,
        deterministic=True,
        force_col_wise=True,
        **model_params,
    )


def fit_pipeline(pipeline: Pipeline, X: pd.DataFrame, y: np.ndarray) -> Pipeline:
    """Fits features then LightGBM, telling LightGBM which columns are categorical codes."""
    features = pipeline.named_steps["features"].fit(X)
    matrix = features.transform(X)
    pipeline.named_steps["model"].fit(matrix, y, categorical_feature=features.categorical_indices_)
    return pipeline


FoldMatrices = tuple[CharacterFeatures, np.ndarray, np.ndarray]


def fold_matrices(
    X: pd.DataFrame, fold: tuple[np.ndarray, np.ndarray], feature_params: dict
) -> FoldMatrices:
    """The features fitted on a fold's training rows, and both sides' matrices.

    They depend on the fold only, so a search computes them once per fold, not per
    candidate (fit_pipeline does the same steps on the whole training set).
    """
    fit_idx, val_idx = fold
    features = build_features(feature_params).fit(X.iloc[fit_idx])
    return features, features.transform(X.iloc[fit_idx]), features.transform(X.iloc[val_idx])


def _fold_probabilities(
    matrices: FoldMatrices,
    y: np.ndarray,
    fold: tuple[np.ndarray, np.ndarray],
    model_params: dict,
    seed: int,
    threads: int,
) -> tuple[np.ndarray, float]:
    """Fits on one fold's training rows; the held-out rows' probabilities and the seconds."""
    start = time.perf_counter()
    features, fit_matrix, val_matrix = matrices
    model = build_model(model_params, seed, threads)
    model.fit(fit_matrix, y[fold[0]], categorical_feature=features.categorical_indices_)
    return model.predict_proba(val_matrix)[:, 1], time.perf_counter() - start


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
    for fold in _folds(X, y, folds, seed):
        matrices = fold_matrices(X, fold, feature_params)
        oof[fold[1]] = _fold_probabilities(matrices, y, fold, model_params, seed, 2)[0]
    return oof


def _folds(
    X: pd.DataFrame, y: np.ndarray, folds: int, seed: int, fold_ids: np.ndarray | None = None
) -> list:
    if fold_ids is not None:  # the feature tables' folds: no fold sees its own labels
        return list(PredefinedSplit(fold_ids).split())
    return list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(X, y))


def search_workers(setting: int | str | None, tasks: int) -> int:
    """Processes for the search's fits: ``auto`` (or unset) is one per usable CPU core."""
    if setting in (None, "auto"):
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        setting = cores or os.cpu_count() or 1
    if not isinstance(setting, int) or isinstance(setting, bool) or setting < 1:
        raise ValueError(
            f"training.search.workers: expected 'auto' or an integer >= 1, got {setting!r}"
        )
    return max(1, min(setting, tasks))


# One search's data, set once per worker process by the pool's initializer.
_WORKER: dict[str, Any] = {}


def _init_worker(
    X: pd.DataFrame, y: np.ndarray, folds: list, feature_params: dict, seed: int
) -> None:
    _WORKER.update(X=X, y=y, folds=folds, feature_params=feature_params, seed=seed, matrices={})


def _cached_matrices(cache: dict, X: pd.DataFrame, folds: list, i: int, feature_params: dict):
    if i not in cache:
        cache[i] = fold_matrices(X, folds[i], feature_params)
    return cache[i]


def _worker_fold(i: int, model_params: dict) -> tuple[np.ndarray, float]:
    w = _WORKER
    matrices = _cached_matrices(w["matrices"], w["X"], w["folds"], i, w["feature_params"])
    return _fold_probabilities(matrices, w["y"], w["folds"][i], model_params, w["seed"], 1)


@contextmanager
def _fold_runner(
    X: pd.DataFrame, y: np.ndarray, folds: list, feature_params: dict, seed: int, workers: int
) -> Iterator[Callable[[int, dict], Callable[[], tuple[np.ndarray, float]]]]:
    """Submits fits of fold ``i``, each returning a callable that waits for its result.

    One worker: the fits run here, lazily, with LightGBM on 2 threads (as before). More:
    each runs in one of ``workers`` fresh processes with one LightGBM thread, so no OpenMP
    team waits on a descheduled thread and every core stays busy; results are identical.
    Each process computes a fold's feature matrices once, on its first fit of that fold.
    """
    if workers == 1:
        cache: dict = {}

        def run_here(i: int, params: dict) -> tuple[np.ndarray, float]:
            matrices = _cached_matrices(cache, X, folds, i, feature_params)
            return _fold_probabilities(matrices, y, folds[i], params, seed, 2)

        yield lambda i, params: partial(run_here, i, params)
        return
    context = multiprocessing.get_context("spawn")  # fork is unsafe with JVM and OpenMP threads
    with ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(X, y, folds, feature_params, seed),
    ) as pool:
        try:
            yield lambda i, params: pool.submit(_worker_fold, i, params).result
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def search_hyperparameters(
    X: pd.DataFrame,
    y: np.ndarray,
    feature_params: dict,
    search: dict[str, Any],
    seed: int,
    progress: Callable[[int, int, dict, float, float], None] | None = None,
    fold_ids: np.ndarray | None = None,
) -> tuple[dict[str, Any], pd.DataFrame, np.ndarray]:
    """Random search over ``search['space']`` scored by cross-validated ROC AUC.

    ``fold_ids`` (a fold number per row) replaces the stratified folds: the folds that
    looked-up label aggregates were computed out of.

    Every (candidate, fold) fit is independent: they run on ``search['workers']``
    processes (default one per core); candidates are still scored and reported in order.
    Returns the best parameters, one row of results per candidate (``seconds``: the
    candidate's fits, summed), and the best candidate's out-of-fold probabilities.
    """
    candidates = list(ParameterSampler(search["space"], n_iter=search["budget"], random_state=seed))
    candidates = [{**search.get("fixed", {}), **c} for c in candidates]
    folds = _folds(X, y, search["folds"], seed, fold_ids)
    workers = search_workers(search.get("workers"), len(candidates) * len(folds))
    rows, best = [], (-np.inf, None, None)
    with _fold_runner(X, y, folds, feature_params, seed, workers) as submit:
        pending = [[submit(i, params) for i in range(len(folds))] for params in candidates]
        for i, (params, futures) in enumerate(zip(candidates, pending, strict=True), start=1):
            oof, seconds = np.zeros(len(y)), 0.0
            for fold, result in zip(folds, futures, strict=True):
                oof[fold[1]], fold_seconds = result()
                seconds += fold_seconds
            score = roc_auc(y, oof)
            rows.append({"candidate": i, **params, "cv_roc_auc": score, "seconds": seconds})
            if progress:
                progress(i, len(candidates), params, score, seconds)
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
