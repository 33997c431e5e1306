"""Nodes of the monitoring pipeline: inference log + labels + baseline -> windowed tables.

Spark does the row-level work (windowing, the label join, one value-count pass, the
label metrics); the statistics then run on the small sketches in pandas.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from marvel_mlops.adapters.spark import empty_frame, get_spark
from marvel_mlops.data.schema import (
    CATEGORICAL_FEATURES,
    GROUND_TRUTH_COLUMNS,
    INFERENCE_LOG_COLUMNS,
    NUMERIC_FEATURES,
)
from marvel_mlops.deployments import latest_serving_version
from marvel_mlops.monitoring import alerts as alert_rules
from marvel_mlops.monitoring import prometheus, report, sketch
from marvel_mlops.monitoring.performance import window_performance
from marvel_mlops.monitoring.profile import (
    DRIFT_SCHEMA,
    KEYS,
    PERFORMANCE_SCHEMA,
    PROFILE_SCHEMA,
    TABLE,
    conform,
    drift_metrics,
    iter_columns,
    profile_metrics,
)

logger = logging.getLogger(__name__)

PREDICTION_CATEGORICAL = ("label",)
PREDICTION_NUMERIC = ("probability", "latency_ms")
SLICE_KEY = "variant"
BASELINE_COLUMNS = {
    name: kind
    for name, kind in INFERENCE_LOG_COLUMNS.items()
    if name in (*CATEGORICAL_FEATURES, *NUMERIC_FEATURES, "probability", "label")
}


def _columns(baseline: bool = False) -> tuple[list[str], list[str]]:
    if baseline:
        return list(CATEGORICAL_FEATURES), list(NUMERIC_FEATURES)
    return [*CATEGORICAL_FEATURES, *PREDICTION_CATEGORICAL], [
        *NUMERIC_FEATURES,
        *PREDICTION_NUMERIC,
    ]


def prepare_inference(
    inference_log: Any | None, ground_truth: Any | None, granularity: str
) -> tuple[Any, Any]:
    """The inference log's monitored columns with their window, model id and variant;
    and, narrow, its predictions with their (late) true label.

    A missing log or label table (a fresh catalog, an endpoint nobody called yet) is an
    empty one: monitoring then reports that there is nothing to monitor and succeeds.
    Only the predictions go through the label join (a shuffle of every row): the sketch
    reads the wide log once, without it. The labelled predictions are persisted
    (serverless environment 5+): window selection and the label metrics both scan them.
    """
    from pyspark import StorageLevel

    if inference_log is None:
        logger.warning("No inference_log table yet: nothing to monitor")
        inference_log = empty_frame(INFERENCE_LOG_COLUMNS)
    if ground_truth is None:
        ground_truth = empty_frame(GROUND_TRUTH_COLUMNS)
    windowed = sketch.with_window(inference_log, granularity)
    categorical, numeric = _columns()
    monitored = windowed.select(*sketch.GROUP, *categorical, *numeric)
    predictions = windowed.select(*sketch.GROUP, "page_id", "probability", "label")
    labelled = sketch.with_labels(predictions, ground_truth).drop("page_id")
    return monitored, labelled.persist(StorageLevel.MEMORY_AND_DISK)


def select_windows(
    frame: Any, monitored_windows: pd.DataFrame | None, granularity: str
) -> pd.DataFrame:
    """Windows to compute: new rows or new labels since the last run (``monitored_windows``:
    none on the first run), plus their predecessors (needed for window-over-window drift).
    ``changed`` marks the ones to write."""
    counts = sketch.window_counts(frame).assign(granularity=granularity)
    on = ["window_start", "granularity", "model_id", "slice_value"]
    columns = [*on, "count", "labelled_count"]
    previous = (
        pd.DataFrame(columns=columns)
        if monitored_windows is None
        else monitored_windows.reindex(columns=columns)
    )
    previous["window_start"] = pd.to_datetime(previous["window_start"], utc=True)
    counts["window_start"] = pd.to_datetime(counts["window_start"], utc=True)
    merged = counts.merge(previous, on=on, how="left", suffixes=("", "_done"))
    merged["changed"] = (merged["count"] != merged["count_done"]) | (
        merged["labelled_count"] != merged["labelled_count_done"]
    )
    merged = merged.sort_values("window_start")
    following_changed = merged.groupby(["model_id", "slice_value"])["changed"].shift(-1)
    merged["needed"] = merged["changed"] | (following_changed == True)  # noqa: E712
    if merged.empty:
        logger.warning("No logged predictions yet: nothing to monitor")
    logger.info(
        "%d of %d windows have new rows or labels", int(merged["changed"].sum()), len(merged)
    )
    return merged[[*on, "window_end", "count", "labelled_count", "changed", "needed"]]


def _restrict(frame: Any, windows: pd.DataFrame, column: str) -> Any:
    chosen = windows[windows[column]]
    if len(chosen) == len(windows):
        return frame
    if chosen.empty:
        return frame.limit(0)
    from pyspark.sql import functions as F

    keys = get_spark().createDataFrame(chosen[["window_start", "model_id", "slice_value"]])
    return frame.join(F.broadcast(keys), ["window_start", "model_id", "slice_value"], "left_semi")


def sketch_windows(frame: Any, windows: pd.DataFrame, config: dict[str, Any]) -> pd.DataFrame:
    """Value counts of every monitored column in the needed windows (one Spark pass)."""
    categorical, numeric = _columns()
    return sketch.value_sketch(
        _restrict(frame, windows, "needed"),
        categorical,
        numeric,
        config["significant_digits"],
        config["max_categories"],
    )


def select_baseline(training_baseline: Any | None, deployments: pd.DataFrame | None) -> Any:
    """The serving version's baseline rows: the version the newest deployment left serving,
    else (no deployment yet) the newest trained version. ``None`` with nothing trained."""
    from pyspark.sql import functions as F

    if training_baseline is None:
        return None
    version = latest_serving_version(deployments)
    if version is None:
        newest = training_baseline.agg(F.max(F.col("model_version").cast("long"))).first()[0]
        version = None if newest is None else str(newest)
    logger.info("Drift baseline: the training data of model version %s", version)
    return training_baseline.filter(F.col("model_version") == F.lit(version))


def sketch_baseline(
    training_baseline: Any | None, deployments: pd.DataFrame | None, config: dict[str, Any]
) -> pd.DataFrame:
    """Value counts of the baseline: the serving model's training data and predictions.

    With no model trained yet the baseline is empty, and so is its sketch.
    """
    baseline = select_baseline(training_baseline, deployments)
    if baseline is None:
        logger.warning("No trained model yet: no drift baseline")
        baseline = empty_frame(BASELINE_COLUMNS)
    categorical, numeric = _columns(baseline=True)
    return sketch.value_sketch(
        baseline,
        [*categorical, "label"],
        [*numeric, *PREDICTION_NUMERIC[:1]],
        config["significant_digits"],
        config["max_categories"],
        group=(),
    )


def _with_window_keys(
    rows: pd.DataFrame, windows: pd.DataFrame, schema: dict[str, str]
) -> pd.DataFrame:
    """Rows with the keys every monitoring table shares; the granularity is the windows'."""
    granularity = windows["granularity"].iloc[0] if len(windows) else None
    rows = rows.assign(
        granularity=granularity,
        slice_key=SLICE_KEY,
        update_timestamp_utc=pd.Timestamp.now("UTC"),
    )
    return conform(rows, schema)


def compute_performance(frame: Any, windows: pd.DataFrame) -> pd.DataFrame:
    """Label coverage and ROC AUC, log loss, accuracy, F1 of the changed windows."""
    changed = windows[windows["changed"]]
    aggregates = sketch.performance_aggregates(_restrict(frame, windows, "changed"))
    aggregates["window_start"] = pd.to_datetime(aggregates["window_start"], utc=True)
    aggregates["window_end"] = pd.to_datetime(aggregates["window_end"], utc=True)
    counts = changed[["window_start", "window_end", "model_id", "slice_value", "count"]].copy()
    counts["window_end"] = pd.to_datetime(counts["window_end"], utc=True)
    return _with_window_keys(window_performance(counts, aggregates), windows, PERFORMANCE_SCHEMA)


def compute_profile(window_sketch: pd.DataFrame, windows: pd.DataFrame, top_k: int) -> pd.DataFrame:
    """Profile rows (one per changed window and column, plus ``:table``), each with its
    ``top_k`` frequent items."""
    numeric = _columns()[1]
    changed = windows[windows["changed"]]
    wanted = set(_keys(changed))
    rows = [
        {
            **dict(zip(KEYS, key, strict=True)),
            "column_name": column,
            **profile_metrics(counts, top_k),
        }
        for key, column, counts in iter_columns(_timestamps(window_sketch), numeric)
        if key in wanted
    ]
    table_rows = [
        {
            **dict(zip(KEYS, key, strict=True)),
            "column_name": TABLE,
            "data_type": "table",
            "count": int(c),
        }
        for key, c in zip(_keys(changed), changed["count"], strict=True)
    ]
    return _with_window_keys(pd.DataFrame(table_rows + rows), windows, PROFILE_SCHEMA)


def _timestamps(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column in ("window_start", "window_end"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _keys(windows: pd.DataFrame) -> list[tuple]:
    frame = _timestamps(windows)
    return list(frame[KEYS].itertuples(index=False, name=None))


def compute_drift(
    window_sketch: pd.DataFrame,
    baseline_sketch: pd.DataFrame,
    windows: pd.DataFrame,
    config: dict[str, Any],
) -> pd.DataFrame:
    """Drift rows of the changed windows against the baseline and the previous window."""
    numeric = _columns()[1]
    reference = {
        c: counts for _, c, counts in iter_columns(baseline_sketch.assign(_b=0), numeric, ["_b"])
    }
    current = {
        (key, column): counts
        for key, column, counts in iter_columns(_timestamps(window_sketch), numeric)
    }
    needed = _timestamps(windows[windows["needed"]]).sort_values("window_start")
    previous: dict[tuple, tuple] = {}
    for _, group in needed.groupby(["model_id", "slice_value"]):
        keys = list(group[KEYS].itertuples(index=False, name=None))
        previous |= dict(zip(keys[1:], keys[:-1], strict=True))
    rows = []
    for key in _keys(windows[windows["changed"]]):
        for (k, column), counts in current.items():
            if k != key:
                continue
            base = {**dict(zip(KEYS, key, strict=True)), "column_name": column}
            if column in reference:
                rows.append(
                    base
                    | {"drift_type": "BASELINE", "window_cmp_start": pd.NaT}
                    | drift_metrics(reference[column], counts, config)
                )
            if key in previous and (previous[key], column) in current:
                rows.append(
                    base
                    | {"drift_type": "CONSECUTIVE", "window_cmp_start": previous[key][0]}
                    | drift_metrics(current[(previous[key], column)], counts, config)
                )
    return _with_window_keys(pd.DataFrame(rows), windows, DRIFT_SCHEMA)


def evaluate_alerts(
    drift: pd.DataFrame, performance: pd.DataFrame, config: dict[str, Any]
) -> pd.DataFrame:
    """Every alert rule on every monitored window: value, threshold, breached or not."""
    rows = alert_rules.evaluate_rules(drift, performance, config["rules"], config["min_rows"])
    rows["update_timestamp_utc"] = pd.Timestamp.now("UTC")
    logger.info(
        "%d breached alert(s) over %d rule evaluations", int(rows["breached"].sum()), len(rows)
    )
    return rows


def decide_retraining(alerts: pd.DataFrame, config: dict[str, Any]) -> dict[str, Any]:
    """The k-of-n retraining trigger, with its reasons (a dataset schedulers can read)."""
    decision = alert_rules.retraining_decision(alerts, config["k"], config["n"], config["variant"])
    decision["explanation"] = alert_rules.describe(decision)
    logger.info(decision["explanation"])
    return decision


def retrain_task_value(decision: dict[str, Any]) -> bool:
    """What the monitoring job's ``retrain`` condition reads (a task value on Databricks)."""
    return bool(decision["retrain"])


def feature_store_freshness(feature_store: Any) -> dict[str, Any]:
    """Whether the online store holds the offline feature tables' latest versions."""
    freshness = feature_store.freshness()
    if freshness["stale"]:
        logger.warning("Feature store: %s", freshness["stale"])
    return freshness


def build_report(
    profile: pd.DataFrame,
    drift: pd.DataFrame,
    performance: pd.DataFrame,
    alerts: pd.DataFrame,
    decision: dict[str, Any],
    freshness: dict[str, Any],
) -> str:
    """The self-contained HTML report (with the online store's staleness, if any)."""
    return report.render(
        profile, drift, performance, alerts, decision, decision["explanation"], freshness
    )


def export_prometheus(
    drift: pd.DataFrame,
    performance: pd.DataFrame,
    alerts: pd.DataFrame,
    decision: dict[str, Any],
) -> Any:
    """Prometheus gauges of the latest windows (the dataset writes and pushes them)."""
    return prometheus.build_registry(drift, performance, alerts, decision)
