"""The monitoring pipeline (PySpark): inference log + labels + baseline -> monitoring tables.

It reads only what was logged (the model server locally, the endpoint's inference table on
Databricks via ``endpoint_ingestion``) and runs standalone: with nothing logged yet it says
so and succeeds."""

from kedro.pipeline import Pipeline, node, pipeline

from marvel_mlops.pipelines.monitoring import nodes


def create_pipeline(**kwargs) -> Pipeline:
    """Builds the monitoring pipeline."""
    p = "params:monitoring"  # each node gets only the keys it reads: f"{p}.<key>"
    return pipeline(
        [
            node(
                nodes.prepare_inference,
                ["inference_log@spark", "ground_truth@spark", f"{p}.granularity"],
                ["monitoring_frame", "labelled_predictions"],
                name="prepare_inference",
            ),
            node(
                nodes.select_windows,
                ["labelled_predictions", "monitored_windows", f"{p}.granularity"],
                "windows_to_monitor",
                name="select_windows",
            ),
            node(
                nodes.sketch_windows,
                ["monitoring_frame", "windows_to_monitor", f"{p}.sketch"],
                "window_sketch",
                name="sketch_windows",
            ),
            node(
                nodes.sketch_baseline,
                ["training_baseline@spark", "deployments", f"{p}.sketch"],
                "baseline_sketch",
                name="sketch_baseline",
            ),
            node(
                nodes.compute_performance,
                ["labelled_predictions", "windows_to_monitor"],
                "monitoring_performance_metrics",
                name="compute_performance",
            ),
            node(
                nodes.compute_profile,
                ["window_sketch", "windows_to_monitor", f"{p}.profile.top_k"],
                "monitoring_profile_metrics",
                name="compute_profile",
            ),
            node(
                nodes.compute_drift,
                ["window_sketch", "baseline_sketch", "windows_to_monitor", f"{p}.drift"],
                "monitoring_drift_metrics",
                name="compute_drift",
            ),
            node(
                nodes.evaluate_alerts,
                ["monitoring_drift_metrics", "monitoring_performance_metrics", f"{p}.alerts"],
                "monitoring_alerts",
                name="evaluate_alerts",
            ),
            node(
                nodes.decide_retraining,
                ["monitoring_alerts", f"{p}.trigger"],
                "retraining_trigger",
                name="decide_retraining",
            ),
            node(
                nodes.retrain_task_value,
                "retraining_trigger",
                "retrain_task_value",
                name="retrain_task_value",
            ),
            node(
                nodes.feature_store_freshness,
                "feature_store",
                "feature_store_freshness",
                name="feature_store_freshness",
            ),
            node(
                nodes.build_report,
                [
                    "monitoring_profile_metrics",
                    "monitoring_drift_metrics",
                    "monitoring_performance_metrics",
                    "monitoring_alerts",
                    "retraining_trigger",
                    "feature_store_freshness",
                ],
                "monitoring_report",
                name="build_monitoring_report",
            ),
            node(
                nodes.export_prometheus,
                [
                    "monitoring_drift_metrics",
                    "monitoring_performance_metrics",
                    "monitoring_alerts",
                    "retraining_trigger",
                ],
                "monitoring_prometheus_metrics",
                name="export_prometheus_metrics",
            ),
        ],
        tags="monitoring",
        namespace="monitoring",
        prefix_datasets_with_namespace=False,
    )
