"""Runnable pipelines: one folder each, with its own ``create_pipeline()``."""
