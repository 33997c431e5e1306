"""The evaluation pipeline: challenger vs champion on test_set → promotion_decision."""

from kedro.pipeline import Pipeline, node, pipeline

from marvel_mlops.pipelines.evaluation.nodes import (
    decide_promotion,
    evaluate_models,
    evaluation_mlflow_metrics,
    plot_calibration_confusion,
    plot_roc_pr,
    promote_task_value,
    record_decision,
    score_candidates,
)
from marvel_mlops.pipelines.verification import processed_data_check


def create_pipeline(**kwargs) -> Pipeline:
    """Builds the evaluation pipeline."""
    return processed_data_check() + pipeline(
        [
            node(
                score_candidates,
                [
                    "verified_test_set",
                    "challenger_model",
                    "champion_model",
                    "model_registration",
                    "feature_store",
                ],
                "scored_test_set",
                name="score_candidates",
            ),
            node(
                evaluate_models,
                [
                    "scored_test_set",
                    "verified_train_set",
                    "challenger_model",
                    "champion_model",
                    "params:evaluation.primary_metric",
                    "params:evaluation.bootstrap",
                ],
                "evaluation_metrics",
                name="evaluate_models",
            ),
            node(
                evaluation_mlflow_metrics,
                "evaluation_metrics",
                "evaluation_mlflow_metrics",
                name="evaluation_mlflow_metrics",
            ),
            node(
                decide_promotion,
                ["evaluation_metrics", "params:evaluation"],
                "promotion_decision",
                name="decide_promotion",
            ),
            node(
                record_decision,
                ["promotion_decision", "params:evaluation.model_name"],
                "promotion_tags",
                name="record_decision",
            ),
            node(
                promote_task_value,
                "promotion_decision",
                "promote_task_value",
                name="promote_task_value",
            ),
            node(
                plot_roc_pr,
                ["scored_test_set", "evaluation_metrics"],
                ["roc_curve_plot", "pr_curve_plot"],
                name="plot_roc_pr",
            ),
            node(
                plot_calibration_confusion,
                ["scored_test_set", "evaluation_metrics"],
                ["calibration_plot", "confusion_matrix_plot"],
                name="plot_calibration_confusion",
            ),
        ],
        tags="evaluation",
        namespace="evaluation",
        prefix_datasets_with_namespace=False,
    )
