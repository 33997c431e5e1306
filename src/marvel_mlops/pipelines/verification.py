"""The processed-data check that training and evaluation both start with.

One node, outside their namespaces, so that ``__default__`` runs it once and each of the
two pipelines still runs it when started alone.
"""

from kedro.pipeline import Pipeline, node, pipeline

from marvel_mlops.data.processing_run import verify_processed_dataset


def processed_data_check() -> Pipeline:
    """``train_set``/``test_set`` from one complete data_processing run, or a plain error."""
    return pipeline(
        [
            node(
                verify_processed_dataset,
                ["train_set@pandas", "test_set@pandas", "data_processing_summary"],
                ["verified_train_set", "verified_test_set"],
                name="verify_processed_dataset",
            )
        ]
    )
