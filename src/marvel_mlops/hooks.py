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
