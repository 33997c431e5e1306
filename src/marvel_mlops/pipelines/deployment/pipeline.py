"""The deployment pipeline: promotion_decision → aliases, deployments, predictions."""

from kedro.pipeline import Pipeline, node, pipeline

from marvel_mlops.pipelines.deployment.nodes import (
    deployment_record,
    feature_serving_spec,
    plan_deployment,
    score_batch,
    select_scoring_input,
    serving_endpoint_spec,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Builds the deployment pipeline."""
    return pipeline(
        [
            node(
                plan_deployment,
                ["promotion_decision", "model_aliases", "params:deployment.action"],
                ["model_alias_changes", "deployed_aliases", "deployment_event"],
                name="apply_deployment",
            ),
            node(
                deployment_record,
                ["deployment_event", "run_lineage"],
                "deployments",
                name="record_deployment",
            ),
            node(
                select_scoring_input,
                [
                    "scoring_input",
                    "test_set@spark",
                    "params:deployment.batch_scoring.fallback_to_test_set",
                ],
                "scoring_batch",
                name="select_scoring_input",
            ),
            node(
                score_batch,
                ["scoring_batch", "champion_model", "deployment_event", "feature_store"],
                "predictions",
                name="score_batch",
            ),
            node(
                serving_endpoint_spec,
                [
                    "deployed_aliases",
                    "params:deployment.endpoint",
                    "params:deployment.serving.ab_challenger_share",
                ],
                "serving_endpoint",
                name="sync_serving_endpoint",
            ),
            node(
                feature_serving_spec,
                ["deployment_event", "params:deployment.feature_serving"],
                "feature_serving_endpoint",
                name="sync_feature_serving",
            ),
        ],
        tags="deployment",
        namespace="deployment",
        prefix_datasets_with_namespace=False,
    )
