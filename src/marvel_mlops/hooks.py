"""Project hooks."""

from __future__ import annotations

import logging
import time
from typing import Any

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl

from marvel_mlops.adapters import spark

logger = logging.getLogger(__name__)


class SparkHooks:
    """Hands the Spark configuration to the lazy session (which ``kedro run`` starts in the
    background from here: first among the plugins' hooks, so kedro-mlflow's set-up
    overlaps with the JVM's start)."""

    @hook_impl(tryfirst=True)
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


class ProgressHooks:
    """One console line per step (``[i/N] node``), and a short summary when the run ends."""

    def __init__(self) -> None:
        self._done, self._total, self._started = 0, 0, 0.0

    @hook_impl
    def before_pipeline_run(self, pipeline: Any) -> None:
        """Counts the steps of this run."""
        self._done, self._total, self._started = 0, len(pipeline.nodes), time.perf_counter()

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        """``[3/39] tune_hyperparameters``."""
        self._done += 1
        logger.info("[%d/%d] %s", self._done, self._total, node.name)

    @hook_impl
    def after_pipeline_run(self, pipeline: Any, catalog: Any) -> None:
        """Reads back what the run decided and says where to look."""
        from marvel_mlops.run_summary import SUMMARY_DATASETS, summary_lines

        written = {name for node in pipeline.nodes for name in node.outputs}
        results = {n: _load(catalog, n) for n in SUMMARY_DATASETS if n in written}
        report = _report_path(catalog) if "monitoring_report" in written else None
        minutes = (time.perf_counter() - self._started) / 60
        logger.info("Done: %d steps in %.1f min", self._done, minutes)
        for line in summary_lines(results, report):
            logger.info(line)


def _load(catalog: Any, name: str) -> Any:
    try:
        return catalog.load(name)
    except Exception:  # noqa: BLE001 - a summary line is never worth failing a finished run
        logger.debug("No %s to summarise", name, exc_info=True)
        return None


def _report_path(catalog: Any) -> str | None:
    config = catalog.config_resolver.resolve_pattern("monitoring_report")
    return (config.get("dataset") or {}).get("filepath")
