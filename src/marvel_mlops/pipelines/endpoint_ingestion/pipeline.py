"""The endpoint_ingestion pipeline (PySpark): endpoint inference table → inference_log."""

from kedro.pipeline import Pipeline, node, pipeline

from marvel_mlops.pipelines.endpoint_ingestion.nodes import ingest_endpoint_requests


def create_pipeline(**kwargs) -> Pipeline:
    """Builds the endpoint_ingestion pipeline."""
    return pipeline(
        [
            node(
                ingest_endpoint_requests,
                [
                    "endpoint_payload",
                    "served_entities",
                    "logged_inference_times",
                    "params:endpoint_ingestion",
                ],
                ["inference_log@spark", "endpoint_log_rejects"],
                name="ingest_endpoint_requests",
            ),
        ],
        tags="endpoint_ingestion",
        namespace="endpoint_ingestion",
        prefix_datasets_with_namespace=False,
    )
