"""The monitoring pipeline: windowed profile, drift, performance, alerts, report, metrics."""

from marvel_mlops.pipelines.monitoring.pipeline import create_pipeline

__all__ = ["create_pipeline"]
