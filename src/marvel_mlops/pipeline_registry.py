"""Project pipelines: every folder under ``pipelines/`` with a ``create_pipeline()``."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

DEFAULT_ORDER = (
    "data_processing",
    "feature_engineering",
    "training",
    "evaluation",
    "deployment",
    "demo_traffic",  # local only: conf/databricks refuses its outputs
    "monitoring",
)


def register_pipelines() -> dict[str, Pipeline]:
    """Registers each runnable pipeline and ``__default__``, which runs them in order.

    ``find_pipelines`` imports only the requested pipelines' folders when
    ``kedro run --pipelines X`` is used, so one pipeline's imports never slow another.
    """
    pipelines = find_pipelines(raise_errors=True)
    found = [pipelines[name] for name in DEFAULT_ORDER if name in pipelines]
    pipelines["__default__"] = sum(found, start=Pipeline([]))
    return pipelines
