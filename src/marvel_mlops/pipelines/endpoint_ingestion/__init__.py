"""Endpoint ingestion: the serving endpoint's inference table into ``inference_log``."""

from marvel_mlops.pipelines.endpoint_ingestion.pipeline import create_pipeline

__all__ = ["create_pipeline"]
