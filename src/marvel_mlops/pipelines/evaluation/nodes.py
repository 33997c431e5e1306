"""evaluation nodes: challenger vs champion vs the majority class, then a decision.

The decision rule follows Databricks MLOps Stacks' validation modes: ``disabled``
(promote without checks), ``dry_run`` (run the checks, report, promote anyway) and
``enabled`` (promote only when every check passes). Ties never promote.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from marvel_mlops.adapters import registry
from marvel_mlops.data.schema import FEATURE_COLUMNS, KEY_COLUMN, LABEL_COLUMN
from marvel_mlops.model.classification_metrics import (
    LOWER_IS_BETTER,
    METRIC_FUNCTIONS,
    bootstrap_difference,
    classification_metrics,
    majority_baseline,
)
from marvel_mlops.model.looked_up import looked_up_columns
from marvel_mlops.registry_changes import AliasPlan

logger = logging.getLogger(__name__)
MODES = ("disabled", "dry_run", "enabled")


def model_inputs(
    test_set: pd.DataFrame, model: registry.RegisteredModel, feature_store: Any
) -> pd.DataFrame:
    """The signature's columns of ``test_set``, plus the columns the model looks up in
    feature tables (its ``feature_spec`` tag), as of each row's arrival (point in time)."""
    inputs = test_set[list(FEATURE_COLUMNS)]
    looked_up = list(looked_up_columns(model.python_model.features))
    if not looked_up:
        return inputs
    spec = json.loads(model.tags.get("feature_spec") or "{}")
    lookups = {t: [c for c in cols if c in looked_up] for t, cols in spec["lookups"].items()}
    lookups = {t: cols for t, cols in lookups.items() if cols}
    rows = feature_store.arrival_features(test_set[[KEY_COLUMN]], lookups)
    return inputs.assign(**{c: rows[c].to_numpy() for c in looked_up})


def score_candidates(
    test_set: pd.DataFrame,
    challenger: registry.RegisteredModel,
    champion: registry.RegisteredModel | None,
    registration: dict[str, Any],
    feature_store: Any,
) -> pd.DataFrame:
    """Probabilities of challenger (and champion, when there is one) on the test set, each
    given the columns it looks up by key as well (``model_inputs``).

    ``registration`` (the training pipeline's output) orders this node after training
    in a combined run; the challenger alias is what gets evaluated.
    """
    if str(registration["version"]) != challenger.version:
        logger.warning(
            "Evaluating challenger version %s; the last registration was version %s",
            challenger.version,
            registration["version"],
        )
    scored = test_set[[KEY_COLUMN, LABEL_COLUMN]].copy()
    for name, model in (("challenger", challenger), ("champion", champion)):
        if model is not None:  # the signature's columns, nothing else
            inputs = model_inputs(test_set, model, feature_store)
            scored[f"p_{name}"] = model.pyfunc.predict(inputs)["probability"].to_numpy()
    return scored


def _model_summary(model: registry.RegisteredModel | None) -> dict[str, Any] | None:
    if model is None:
        return None
    return {"version": model.version, "threshold": model.python_model.threshold}


def evaluate_models(
    scored: pd.DataFrame,
    train_set: pd.DataFrame,
    challenger: registry.RegisteredModel,
    champion: registry.RegisteredModel | None,
    primary_metric: str,
    bootstrap: dict[str, Any],
) -> dict[str, Any]:
    """All metrics for challenger, champion and the majority baseline, plus the bootstrap
    difference of ``primary_metric`` between them."""
    y = scored[LABEL_COLUMN].to_numpy()
    result: dict[str, Any] = {
        "challenger": {
            **_model_summary(challenger),
            **classification_metrics(
                y, scored["p_challenger"].to_numpy(), challenger.python_model.threshold
            ),
        },
        "champion": None,
        "baseline": majority_baseline(y, float(train_set[LABEL_COLUMN].mean())),
        "difference": None,
        "primary_metric": primary_metric,
    }
    if champion is not None:
        result["champion"] = {
            **_model_summary(champion),
            **classification_metrics(
                y, scored["p_champion"].to_numpy(), champion.python_model.threshold
            ),
        }
        result["difference"] = bootstrap_difference(
            y,
            scored["p_challenger"].to_numpy(),
            scored["p_champion"].to_numpy(),
            METRIC_FUNCTIONS[primary_metric],
            bootstrap["n_resamples"],
            bootstrap["confidence"],
            bootstrap["seed"],
        )
    return result


def _gain(metric: str, new: float, old: float) -> float:
    """How much better ``new`` is than ``old`` (positive = better), whatever the direction."""
    return old - new if metric in LOWER_IS_BETTER else new - old


def _checks(metrics: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    challenger, baseline, champion = (
        metrics["challenger"],
        metrics["baseline"],
        metrics["champion"],
    )
    checks = []
    for metric, floor in params["floors"].items():
        value = challenger[metric]
        checks.append(
            {
                "check": f"floor:{metric}",
                "passed": _gain(metric, value, floor) >= 0,
                "detail": f"{metric} {value:.4f} vs floor {floor}",
            }
        )
    for metric, margin in params["baseline_margins"].items():
        gain = _gain(metric, challenger[metric], baseline[metric])
        checks.append(
            {
                "check": f"baseline:{metric}",
                "passed": gain > margin,
                "detail": f"{metric} beats always-alive by {gain:+.4f} (needs > {margin})",
            }
        )
    if champion is None:
        return checks
    if champion["version"] == challenger["version"]:
        return [
            *checks,
            {
                "check": "new_version",
                "passed": False,
                "detail": f"version {challenger['version']} already is the champion",
            },
        ]
    primary = params["primary_metric"]
    gain = _gain(primary, challenger[primary], champion[primary])
    checks.append(
        {
            "check": f"improvement:{primary}",
            "passed": gain > params["min_improvement"],
            "detail": f"{primary} {gain:+.4f} vs champion (needs > "
            f"{params['min_improvement']}; ties never promote)",
        }
    )
    if params["require_significance"]:
        low = metrics["difference"]["ci_low"] * (-1 if primary in LOWER_IS_BETTER else 1)
        checks.append(
            {
                "check": "significance",
                "passed": low > 0,
                "detail": f"bootstrap CI of the {primary} gain starts at {low:+.4f}",
            }
        )
    for metric, tolerance in params["guard_metrics"].items():
        gain = _gain(metric, challenger[metric], champion[metric])
        checks.append(
            {
                "check": f"guard:{metric}",
                "passed": gain >= -tolerance,
                "detail": f"{metric} {gain:+.4f} vs champion (may lose {tolerance})",
            }
        )
    return checks


def decide_promotion(metrics: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Promote or not, with every check and its reason (see module docstring for modes)."""
    mode = params["mode"]
    if mode not in MODES:
        raise ValueError(f"evaluation.mode '{mode}' is not one of {MODES}")
    checks = [] if mode == "disabled" else _checks(metrics, params)
    would_promote = all(c["passed"] for c in checks)
    promote = would_promote if mode == "enabled" else True
    failed = [c["detail"] for c in checks if not c["passed"]]
    reasons = failed or (
        [f"validation {mode}: promoted without checks"]
        if mode == "disabled"
        else ["all checks passed"]
    )
    decision = {
        "promote": promote,
        "would_promote": would_promote,
        "mode": mode,
        "challenger_version": metrics["challenger"]["version"],
        "champion_version": (metrics["champion"] or {}).get("version"),
        "primary_metric": params["primary_metric"],
        "reasons": reasons,
        "checks": checks,
    }
    logger.info(
        "Promotion decision (%s): %s — %s",
        mode,
        "PROMOTE" if promote else "keep",
        "; ".join(reasons),
    )
    return decision


def evaluation_mlflow_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """Flat numeric metrics for MLflow (challenger_*, champion_*, baseline_*, difference_*)."""
    flat = {}
    for role in ("challenger", "champion", "baseline", "difference"):
        for name, value in (metrics.get(role) or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                flat[f"{role}_{name}"] = {"value": float(value), "step": 0}
    return flat


def record_decision(decision: dict[str, Any], model_name: str) -> AliasPlan:
    """The decision as tags for the challenger's model version."""
    tags = {
        "promotion_decision": "promote" if decision["promote"] else "reject",
        "promotion_mode": decision["mode"],
        "promotion_reasons": " | ".join(decision["reasons"])[:4900],
        "evaluated_against_champion": str(decision["champion_version"]),
    }
    return AliasPlan(model_name, tag_versions={str(decision["challenger_version"]): tags})


def promote_task_value(decision: dict[str, Any]) -> bool:
    """What the training job's ``promote`` condition reads (a task value on Databricks)."""
    return bool(decision["promote"])


def _curves(scored: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    columns = [("challenger", "p_challenger"), ("champion", "p_champion")]
    return [(name, scored[col].to_numpy()) for name, col in columns if col in scored]


def plot_roc_pr(scored: pd.DataFrame, metrics: dict[str, Any]) -> tuple[Figure, Figure]:
    """ROC curve and precision–recall curve (for the dead class), both models."""
    y = scored[LABEL_COLUMN].to_numpy()
    roc, roc_axis = plt.subplots(figsize=(5, 5))
    pr, pr_axis = plt.subplots(figsize=(5, 5))
    for name, p in _curves(scored):
        fpr, tpr, _ = roc_curve(y, p)
        roc_axis.plot(fpr, tpr, label=f"{name} AUC {metrics[name]['roc_auc']:.3f}")
        precision, recall, _ = precision_recall_curve(1 - y, 1 - p)
        pr_axis.plot(recall, precision, label=f"{name} AP {metrics[name]['pr_auc']:.3f}")
    roc_axis.plot([0, 1], [0, 1], "k--", label="always alive 0.500")
    pr_axis.axhline(1 - y.mean(), color="k", linestyle="--", label="always alive")
    roc_axis.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test)")
    pr_axis.set(xlabel="recall (dead)", ylabel="precision (dead)", title="Precision–recall")
    roc_axis.legend(loc="lower right")
    pr_axis.legend(loc="upper right")
    return roc, pr


def plot_calibration_confusion(
    scored: pd.DataFrame, metrics: dict[str, Any]
) -> tuple[Figure, Figure]:
    """Reliability diagram for both models and the challenger's confusion matrix."""
    y = scored[LABEL_COLUMN].to_numpy()
    calibration, axis = plt.subplots(figsize=(5, 5))
    for name, p in _curves(scored):
        observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
        axis.plot(predicted, observed, marker="o", label=name)
    axis.plot([0, 1], [0, 1], "k--", label="perfectly calibrated")
    axis.set(xlabel="predicted P(alive)", ylabel="observed share alive", title="Calibration")
    axis.legend()
    c = metrics["challenger"]
    matrix = np.array(
        [
            [c["confusion_true_dead_pred_dead"], c["confusion_true_dead_pred_alive"]],
            [c["confusion_true_alive_pred_dead"], c["confusion_true_alive_pred_alive"]],
        ]
    )
    confusion, axis = plt.subplots(figsize=(4.5, 4))
    axis.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        color = "white" if count > matrix.max() / 2 else "black"
        axis.text(j, i, f"{count:,}", ha="center", va="center", color=color)
    axis.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["dead", "alive"],
        yticklabels=["dead", "alive"],
        xlabel="predicted",
        ylabel="actual",
        title=f"Challenger v{c['version']} at threshold {c['threshold']:.3f}",
    )
    return calibration, confusion
