"""Prometheus gauges of the latest monitored windows (pushed by ``PrometheusMetricsDataset``)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from prometheus_client import CollectorRegistry, Gauge

PREFIX = "marvel_mlops_monitoring"
DRIFT_METRICS = (
    "population_stability_index",
    "js_distance",
    "chi_squared_pvalue",
    "ks_statistic",
    "wasserstein_normalised",
)
PERFORMANCE_METRICS = ("roc_auc", "log_loss", "accuracy", "f1", "label_coverage", "count")


def _latest(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if frame.empty:
        return frame
    return frame.sort_values("window_start").groupby(keys, as_index=False).tail(1)


def build_registry(
    drift: pd.DataFrame, performance: pd.DataFrame, alerts: pd.DataFrame, decision: dict[str, Any]
) -> CollectorRegistry:
    """Gauges for each series' latest window: drift, performance, breached alerts, trigger."""
    registry = CollectorRegistry()
    labels = ["model_id", "variant", "column", "drift_type"]
    drift_latest = _latest(drift, ["model_id", "slice_value", "column_name", "drift_type"])
    for metric in DRIFT_METRICS:
        gauge = Gauge(
            f"{PREFIX}_drift_{metric}", f"Latest window's {metric}", labels, registry=registry
        )
        for row in (
            drift_latest[drift_latest[metric].notna()].itertuples() if len(drift_latest) else []
        ):
            gauge.labels(row.model_id, row.slice_value, row.column_name, row.drift_type).set(
                getattr(row, metric)
            )
    perf_latest = (
        _latest(performance[performance["labelled_count"] > 0], ["model_id", "slice_value"])
        if len(performance)
        else performance
    )
    for metric in PERFORMANCE_METRICS:
        gauge = Gauge(
            f"{PREFIX}_performance_{metric}",
            f"Latest labelled window's {metric}",
            ["model_id", "variant"],
            registry=registry,
        )
        for row in (
            perf_latest[perf_latest[metric].notna()].itertuples() if len(perf_latest) else []
        ):
            gauge.labels(row.model_id, row.slice_value).set(getattr(row, metric))
    breached = Gauge(
        f"{PREFIX}_alerts_breached",
        "Breached alert rules in the latest window",
        ["model_id", "variant", "rule"],
        registry=registry,
    )
    latest_alerts = (
        alerts[alerts["window_start"] == alerts["window_start"].max()] if len(alerts) else alerts
    )
    for (model_id, variant, rule), rows in (
        latest_alerts.groupby(["model_id", "slice_value", "rule"]) if len(latest_alerts) else []
    ):
        breached.labels(model_id, variant, rule).set(int(rows["breached"].astype(bool).sum()))
    Gauge(
        f"{PREFIX}_retraining_needed",
        "1 when the k-of-n retraining trigger fires",
        registry=registry,
    ).set(int(bool(decision.get("retrain"))))
    if len(drift):
        Gauge(
            f"{PREFIX}_latest_window_start_seconds",
            "Start of the latest monitored window",
            registry=registry,
        ).set(pd.Timestamp(drift["window_start"].max()).timestamp())
    return registry
