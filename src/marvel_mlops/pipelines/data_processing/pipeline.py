"""The data_processing pipeline: raw file → train_set, test_set, rejected_characters.

Commit order: ``train_set`` and ``test_set``, then ``rejected_characters``, then the
summary, which names the run whose rows the three tables hold (the commit marker that
training and evaluation check against ``train_set`` and ``test_set``).
"""

from kedro.pipeline import Pipeline, node, pipeline

from marvel_mlops.pipelines.data_processing.nodes import (
    clean_characters,
    collect_rejections,
    deduplicate_characters,
    identify_processing_run,
    separate_malformed_rows,
    split_train_test,
    summarise_processing,
    validate_raw_characters,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Builds the data_processing pipeline."""
    return pipeline(
        [
            node(
                identify_processing_run,
                ["well_formed_characters", "params:data_processing"],
                "processing_run",
                name="identify_processing_run",
            ),
            node(
                separate_malformed_rows,
                "raw_characters",
                ["well_formed_characters", "malformed_characters"],
                name="separate_malformed_rows",
            ),
            node(
                validate_raw_characters,
                ["well_formed_characters", "params:data_processing"],
                "validated_characters",
                name="validate_raw_characters",
            ),
            node(
                clean_characters,
                ["validated_characters", "params:data_processing"],
                ["clean_characters", "invalid_characters"],
                name="clean_characters",
            ),
            node(
                deduplicate_characters,
                "clean_characters",
                ["unique_characters", "duplicate_characters"],
                name="deduplicate_characters",
            ),
            node(
                split_train_test,
                ["unique_characters", "params:data_processing", "processing_run"],
                ["train_set@spark", "test_set@spark"],
                name="split_train_test",
            ),
            node(
                collect_rejections,
                [
                    "invalid_characters",
                    "duplicate_characters",
                    "malformed_characters",
                    "processing_run",
                    "train_set@spark",
                    "test_set@spark",
                ],
                "rejected_characters",
                name="collect_rejections",
            ),
            node(
                summarise_processing,
                [
                    "validated_characters",
                    "malformed_characters",
                    "train_set@spark",
                    "test_set@spark",
                    "rejected_characters",
                    "processing_run",
                ],
                "data_processing_summary",
                name="summarise_processing",
            ),
        ],
        tags="data_processing",
        namespace="data_processing",
        prefix_datasets_with_namespace=False,
    )
