"""Model quality per window from the label aggregates computed in Spark."""

from __future__ import annotations

import pandas as pd


def _f1(tp: float, fp: float, fn: float) -> float:
    return 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 0.0


def window_performance(counts: pd.DataFrame, aggregates: pd.DataFrame) -> pd.DataFrame:
    """One row per window: label coverage and, when labels exist, the metrics.

    ``f1`` is for the minority class *dead* (like the evaluation pipeline); ``roc_auc``
    is missing when a window's labels hold one class only; every metric is missing
    (not an error) when no label has arrived yet.
    """
    keys = ["window_start", "window_end", "model_id", "slice_value"]
    frame = counts.drop(columns=["labelled_count"], errors="ignore").merge(
        aggregates, on=keys, how="left"
    )
    n = frame["labelled_count"].fillna(0)
    tp, tn, fp, fn = (frame[c] for c in ("tp", "tn", "fp", "fn"))
    positives, negatives = tp + fn, tn + fp
    has = n > 0
    out = frame[keys + ["count"]].copy()
    out["labelled_count"] = n.astype("int64")
    out["label_coverage"] = n / frame["count"]
    out["roc_auc"] = (frame["auc_u"] / (positives * negatives)).where(
        has & (positives > 0) & (negatives > 0)
    )
    out["log_loss"] = (frame["log_loss_sum"] / n).where(has)
    out["accuracy"] = ((tp + tn) / n).where(has)
    f1_dead = [_f1(a, b, c) for a, b, c in zip(tn, fn, fp, strict=True)]
    f1_alive = [_f1(a, b, c) for a, b, c in zip(tp, fp, fn, strict=True)]
    out["f1"] = pd.Series(f1_dead, index=out.index, dtype=float).where(has)
    out["f1_macro"] = (
        (pd.Series(f1_dead, index=out.index) + pd.Series(f1_alive, index=out.index)) / 2
    ).where(has)
    out["actual_alive_share"] = (positives / n).where(has)
    return out
