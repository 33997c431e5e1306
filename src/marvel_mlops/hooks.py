"""Project hooks."""

from __future__ import annotations

import logging

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl

from marvel_mlops.adapters import spark

logger = logging.getLogger(__name__)


class SparkHooks:
    """Hands the Spark configuration to the lazy session; nothing starts here."""

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Reads ``conf/<env>/spark.yml`` into the lazy Spark session factory."""
        try:
            conf = context.config_loader["spark"]
        except KeyError:
            conf = {}
        spark.configure(conf)


class LineageHooks:
    """Records the Kedro run id so that models can be traced back to the run."""

    @hook_impl
    def before_pipeline_run(self, run_params: dict) -> None:
        """Stores the run id, pipeline name and environment for lineage tags."""
        from marvel_mlops import lineage

        names = run_params.get("pipeline_names") or [run_params.get("pipeline_name")]
        lineage.set_kedro_run(
            str(run_params.get("run_id") or run_params.get("session_id")),
            ",".join(n for n in names if n) or None,
            run_params.get("env"),
        )
