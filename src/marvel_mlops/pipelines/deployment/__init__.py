"""Promote or roll back the champion, record it, batch-score, sync Databricks serving."""

from marvel_mlops.pipelines.deployment.pipeline import create_pipeline

__all__ = ["create_pipeline"]
