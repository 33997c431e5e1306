"""Classification metrics, the majority baseline and a paired bootstrap.

``probability`` is P(alive) and labels are 1 alive / 0 dead. The thresholded metrics
(precision, recall, F1) and PR AUC are reported for the minority class, *dead*, where
always answering "alive" scores zero; accuracy and F1 macro are reported too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn import metrics as skm

from marvel_mlops.model.decision import alive_labels

LOWER_IS_BETTER = frozenset({"log_loss", "brier"})
EPS = 1e-15


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC, 0.5 when only one class is present."""
    return float(skm.roc_auc_score(y, p)) if len(np.unique(y)) == 2 else 0.5


def threshold_score(y: np.ndarray, p: np.ndarray, threshold: float, objective: str) -> float:
    """A thresholded score used to pick the cut-off."""
    predicted = alive_labels(p, threshold)
    if objective == "f1_macro":
        return float(skm.f1_score(y, predicted, average="macro", zero_division=0))
    if objective == "balanced_accuracy":
        return float(skm.balanced_accuracy_score(y, predicted))
    if objective == "f1_dead":
        return float(skm.f1_score(y, predicted, pos_label=0, zero_division=0))
    raise ValueError(
        f"threshold objective '{objective}' is not one of f1_macro, balanced_accuracy, f1_dead"
    )


METRIC_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "roc_auc": roc_auc,
    "pr_auc": lambda y, p: float(skm.average_precision_score(1 - y, 1 - p)),
    "log_loss": lambda y, p: float(skm.log_loss(y, np.clip(p, EPS, 1 - EPS), labels=[0, 1])),
    "brier": lambda y, p: float(skm.brier_score_loss(y, p)),
}
"""Threshold-free metrics that can be bootstrapped."""


def classification_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """Every metric the evaluation reports, for one set of probabilities."""
    y = np.asarray(y).astype(int)
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    predicted = alive_labels(p, threshold)
    tn, fp, fn, tp = skm.confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    return {
        **{name: function(y, p) for name, function in METRIC_FUNCTIONS.items()},
        "accuracy": float(skm.accuracy_score(y, predicted)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y, predicted)),
        "precision": float(skm.precision_score(y, predicted, pos_label=0, zero_division=0)),
        "recall": float(skm.recall_score(y, predicted, pos_label=0, zero_division=0)),
        "f1": float(skm.f1_score(y, predicted, pos_label=0, zero_division=0)),
        "f1_macro": float(skm.f1_score(y, predicted, average="macro", zero_division=0)),
        "threshold": float(threshold),
        "confusion_true_dead_pred_dead": int(tn),
        "confusion_true_dead_pred_alive": int(fp),
        "confusion_true_alive_pred_dead": int(fn),
        "confusion_true_alive_pred_alive": int(tp),
        "rows": len(y),
    }


def majority_baseline(y: np.ndarray, alive_share: float) -> dict[str, float]:
    """Always answering the training majority ("alive") with the training prior."""
    p = np.full(len(y), alive_share)
    threshold = 0.5 if alive_share < 0.5 else alive_share - 1e-9
    return classification_metrics(y, p, threshold)


def bootstrap_difference(
    y: np.ndarray,
    p_new: np.ndarray,
    p_old: np.ndarray,
    metric: Callable,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> dict[str, float]:
    """Paired bootstrap of metric(new) − metric(old) on the same rows."""
    rng = np.random.default_rng(seed)
    n = len(y)
    diffs = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = rng.integers(0, n, n)
        diffs[i] = metric(y[idx], p_new[idx]) - metric(y[idx], p_old[idx])
    alpha = (1 - confidence) / 2
    return {
        "estimate": float(metric(y, p_new) - metric(y, p_old)),
        "ci_low": float(np.quantile(diffs, alpha)),
        "ci_high": float(np.quantile(diffs, 1 - alpha)),
        "confidence": confidence,
        "n_resamples": n_resamples,
    }
