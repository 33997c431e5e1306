"""Score challenger and champion on the test set and decide on promotion."""

from marvel_mlops.pipelines.evaluation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
