"""The deployment pipeline: promotion_decision → aliases, deployments, predictions."""

from kedro.pipeline import Pipeline, node, pipeline

from marvel_mlops.pipelines.deployment.nodes import (
    apply_deployment,
    deployment_record,
    score_batch,
    select_scoring_input,
    sync_serving_endpoint,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Builds the deployment pipeline."""
    return pipeline(
        [
            node(
                apply_deployment,
                ["promotion_decision", "params:deployment"],
                "deployment_event",
                name="apply_deployment",
            ),
            node(deployment_record, "deployment_event", "deployments", name="record_deployment"),
            node(
                select_scoring_input,
                ["scoring_input", "test_set@spark", "params:deployment"],
                "scoring_batch",
                name="select_scoring_input",
            ),
            node(
                score_batch,
                ["scoring_batch", "champion_model", "deployment_event"],
                "predictions",
                name="score_batch",
            ),
            node(
                sync_serving_endpoint,
                ["deployment_event", "params:deployment"],
                "serving_endpoint_status",
                name="sync_serving_endpoint",
            ),
        ],
        tags="deployment",
    )
