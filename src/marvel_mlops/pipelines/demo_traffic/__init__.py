"""Local-only demo traffic: predictions and late labels for a fresh clone's monitoring."""

from marvel_mlops.pipelines.demo_traffic.pipeline import create_pipeline

__all__ = ["create_pipeline"]
