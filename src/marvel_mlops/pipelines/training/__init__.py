"""Tune, fit, log and register the LightGBM model; set its ``challenger`` alias."""

from marvel_mlops.pipelines.training.pipeline import create_pipeline

__all__ = ["create_pipeline"]
