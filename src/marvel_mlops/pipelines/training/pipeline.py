"""The training pipeline: train_set → a registered model version with alias ``challenger``."""

from kedro.pipeline import Pipeline, node, pipeline

from marvel_mlops.pipelines.training.nodes import (
    build_training_set,
    choose_decision_threshold,
    cross_validation_metrics,
    plot_feature_importance,
    registration_request,
    snapshot_baseline,
    train_final_model,
    tune_hyperparameters,
)
from marvel_mlops.pipelines.verification import processed_data_check


def create_pipeline(**kwargs) -> Pipeline:
    """Builds the training pipeline."""
    return processed_data_check() + pipeline(
        [
            node(
                build_training_set,
                [
                    "verified_train_set",
                    "character_labels@pandas",
                    "feature_store",
                    "params:training.feature_lookups",
                ],
                ["training_set", "feature_spec"],
                name="build_training_set",
            ),
            node(
                tune_hyperparameters,
                [
                    "training_set",
                    "params:training.features",
                    "params:training.search",
                    "params:training.seed",
                ],
                ["best_hyperparameters", "cv_results", "out_of_fold_predictions"],
                name="tune_hyperparameters",
            ),
            node(
                choose_decision_threshold,
                ["out_of_fold_predictions", "params:training.threshold_objective"],
                ["decision_threshold", "threshold_plot"],
                name="choose_decision_threshold",
            ),
            node(
                train_final_model,
                [
                    "training_set",
                    "best_hyperparameters",
                    "decision_threshold",
                    "params:training.features",
                    "params:training.seed",
                ],
                "trained_model",
                name="train_final_model",
            ),
            node(
                plot_feature_importance,
                ["trained_model", "params:training.importance_top_k"],
                "feature_importance_plot",
                name="plot_feature_importance",
            ),
            node(
                cross_validation_metrics,
                ["cv_results", "decision_threshold"],
                "cv_metrics",
                name="cross_validation_metrics",
            ),
            node(
                registration_request,
                [
                    "trained_model",
                    "verified_train_set",
                    "train_set_version",
                    "test_set_version",
                    "best_hyperparameters",
                    "run_lineage",
                    "feature_spec",
                ],
                "model_registration",
                name="register_challenger",
            ),
            node(
                snapshot_baseline,
                ["trained_model", "verified_train_set", "model_registration"],
                "training_baseline@pandas",
                name="snapshot_baseline",
            ),
        ],
        tags="training",
        namespace="training",
        prefix_datasets_with_namespace=False,
    )
