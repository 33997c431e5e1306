"""Alert rules on drift and performance rows, and the k-of-n retraining trigger."""

from __future__ import annotations

import operator
from typing import Any

import pandas as pd

OPERATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
RULE_FIELDS = {"name", "table", "metric", "op", "threshold", "severity", "retrain", "drift_type"}
TABLE_COLUMN = ":table"
NO_DRIFT_TYPE = "NONE"
ROW_KEYS = [
    "window_start",
    "window_end",
    "granularity",
    "model_id",
    "slice_key",
    "slice_value",
    "column_name",
    "drift_type",
]
"""What identifies the monitored value a rule is evaluated on."""
ALERT_COLUMNS = [
    *ROW_KEYS,
    "rule",
    "metric",
    "value",
    "threshold",
    "severity",
    "breached",
    "triggers_retraining",
]


def validate_rules(rules: list[dict[str, Any]]) -> None:
    """Fails with the rule and field named when a rule is malformed."""
    for i, rule in enumerate(rules):
        name = rule.get("name", f"#{i}")
        missing = {"name", "table", "metric", "op", "threshold"} - set(rule)
        unknown = set(rule) - RULE_FIELDS
        if missing or unknown:
            raise ValueError(
                f"monitoring.alerts.rules[{name}]: missing {sorted(missing)}, "
                f"unknown {sorted(unknown)}"
            )
        if rule["table"] not in ("drift", "performance"):
            raise ValueError(f"monitoring.alerts.rules[{name}].table must be drift or performance")
        if rule["op"] not in OPERATORS:
            raise ValueError(f"monitoring.alerts.rules[{name}].op must be one of {list(OPERATORS)}")


def evaluate_rules(
    drift: pd.DataFrame, performance: pd.DataFrame, rules: list[dict], min_rows: dict[str, int]
) -> pd.DataFrame:
    """One row per rule, window and column with a value: whether the threshold is breached.

    Rows below the minimum sample size (``min_rows['drift']`` rows in the window,
    ``min_rows['performance']`` labels) are not judged.
    """
    validate_rules(rules)
    out = []
    for rule in rules:
        if rule["table"] == "drift":
            rows = drift[drift["count"] >= min_rows["drift"]]
            rows = rows[rows["drift_type"] == rule.get("drift_type", "BASELINE")]
        else:
            rows = performance[performance["labelled_count"] >= min_rows["performance"]]
            rows = rows.assign(column_name=TABLE_COLUMN, drift_type=NO_DRIFT_TYPE)
        rows = rows[rows[rule["metric"]].notna()] if len(rows) else rows
        if not len(rows):
            continue
        value = rows[rule["metric"]].astype(float)
        out.append(
            rows[ROW_KEYS].assign(
                rule=rule["name"],
                metric=rule["metric"],
                value=value,
                threshold=float(rule["threshold"]),
                severity=rule.get("severity", "critical"),
                breached=OPERATORS[rule["op"]](value, float(rule["threshold"])),
                triggers_retraining=bool(rule.get("retrain", False)),
            )
        )
    if not out:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in ALERT_COLUMNS})
    return pd.concat(out, ignore_index=True)[ALERT_COLUMNS]


def _dtype(column: str) -> str:
    if column in ("window_start", "window_end"):
        return "datetime64[us, UTC]"
    if column in ("value", "threshold"):
        return "float64"
    return "bool" if column in ("breached", "triggers_retraining") else "object"


def retraining_decision(alerts: pd.DataFrame, k: int, n: int, variant: str) -> dict[str, Any]:
    """Retrain when a retraining rule breached in >= k of the last n windows, the latest included.

    Looks at the model version of the variant's most recent window only.
    """
    if not 1 <= k <= n:
        raise ValueError(f"monitoring.trigger: need 1 <= k <= n, got k={k}, n={n}")
    mask = alerts["triggers_retraining"].astype(bool) & (alerts["slice_value"] == variant)
    rows = alerts[mask].reset_index(drop=True)
    decision: dict[str, Any] = {"retrain": False, "k": k, "n": n, "variant": variant, "reasons": []}
    if rows.empty:
        return decision | {"model_id": None, "latest_window": None}
    latest = rows.loc[rows["window_start"].idxmax()]
    rows = rows[rows["model_id"] == latest["model_id"]]
    windows = sorted(rows["window_start"].unique(), reverse=True)[:n]
    recent = rows[rows["window_start"].isin(windows)]
    for (column, rule), series in recent.groupby(["column_name", "rule"]):
        breached = series[series["breached"].astype(bool)]
        newest = series.loc[series["window_start"].idxmax()]
        if len(breached) >= k and newest["window_start"] == windows[0] and newest["breached"]:
            decision["reasons"].append(
                {
                    "column": column,
                    "rule": rule,
                    "metric": newest["metric"],
                    "breaches": int(len(breached)),
                    "windows": len(windows),
                    "latest_value": float(newest["value"]),
                    "threshold": float(newest["threshold"]),
                }
            )
    decision["retrain"] = bool(decision["reasons"])
    return decision | {"model_id": latest["model_id"], "latest_window": str(windows[0])}


def describe(decision: dict[str, Any]) -> str:
    """A one-paragraph explanation of a retraining decision."""
    head = (
        f"Retraining {'NEEDED' if decision['retrain'] else 'not needed'} for model version "
        f"{decision.get('model_id')} ({decision.get('variant')}), latest window "
        f"{decision.get('latest_window')}, rule: {decision['k']} of the last "
        f"{decision['n']} windows."
    )
    lines = [
        f"  - {r['column']}: {r['rule']} ({r['metric']} = {r['latest_value']:.4g}, threshold "
        f"{r['threshold']:.4g}) breached in {r['breaches']} of {r['windows']} windows"
        for r in decision.get("reasons", [])
    ]
    return "\n".join([head, *lines])
