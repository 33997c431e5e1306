"""Validate, clean, de-duplicate and split the raw characters on Spark."""

from marvel_mlops.pipelines.data_processing.pipeline import create_pipeline

__all__ = ["create_pipeline"]
