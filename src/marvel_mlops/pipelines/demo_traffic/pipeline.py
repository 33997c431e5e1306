"""The demo_traffic pipeline (local only): the deployed model's simulated traffic."""

from kedro.pipeline import Pipeline, node, pipeline

from marvel_mlops.pipelines.demo_traffic.nodes import generate_demo_traffic


def create_pipeline(**kwargs) -> Pipeline:
    """Builds the demo_traffic pipeline."""
    return pipeline(
        [
            node(
                generate_demo_traffic,
                [
                    "inference_log_exists",
                    "monitored_model",
                    "deployment_event",
                    "params:demo_traffic",
                    "params:monitoring.granularity",
                ],
                ["inference_log@demo", "ground_truth@demo"],
                name="generate_demo_traffic",
            ),
        ],
        tags="demo_traffic",
        namespace="demo_traffic",
        prefix_datasets_with_namespace=False,
    )
