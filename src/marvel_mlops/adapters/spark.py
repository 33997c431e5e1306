"""One lazily created Spark session, configured from ``conf/<env>/spark.yml``.

Locally the session is built on first use with the project's Spark configuration;
on a Databricks runtime the runtime's own session is returned untouched.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_spark_conf: dict[str, Any] = {}


def configure(spark_conf: dict[str, Any]) -> None:
    """Remembers the Spark configuration used when a session is first needed."""
    _spark_conf.clear()
    _spark_conf.update(spark_conf or {})


def on_databricks() -> bool:
    """True inside a Databricks runtime (jobs, notebooks, serverless)."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def get_spark() -> SparkSession:
    """Returns the active Spark session, creating the local one on first call."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "pyspark is not installed: install the project with its 'local' extra "
            "(uv sync --extra local) or run on a Databricks runtime."
        ) from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    with _lock:
        if on_databricks():
            return SparkSession.builder.getOrCreate()
        builder = SparkSession.builder.appName(_spark_conf.get("spark.app.name", "marvel-mlops"))
        for key, value in _spark_conf.items():
            builder = builder.config(key, str(value))
        logger.info("Starting a local Spark session (%s)", _spark_conf.get("spark.master"))
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        return spark
