"""One lazily created Spark session, configured from ``conf/<env>/spark.yml``.

Three kinds of session, chosen by configuration only (never by node code):

* on a Databricks runtime, the runtime's own session, untouched (serverless compute is
  Spark Connect: no ``sparkContext``, RDDs or JVM access there);
* a Spark Connect session when ``spark.remote`` (spark.yml) or the ``SPARK_REMOTE``
  environment variable names a server, e.g. ``sc://127.0.0.1:15002`` (the tests run the
  Spark-facing pipelines this way, so classic-only APIs fail here first);
* otherwise a classic local session (``spark.master``, default ``local[*]``).
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
_start_when_configured = threading.Event()
# The session built here: a session built on another thread (the early start) is not
# that thread's "active" one for the others, so it is kept to be found again.
_built: dict[str, SparkSession] = {}
# Static or JVM-level settings a Spark Connect client cannot set on its session.
_CLASSIC_ONLY_PREFIXES = ("spark.master", "spark.driver.", "spark.ui.", "spark.default.")


def configure(spark_conf: dict[str, Any]) -> threading.Thread | None:
    """Remembers the Spark configuration used when a session is first needed, and starts
    the session in the background if ``start_early`` asked for it (the thread doing it)."""
    _spark_conf.clear()
    _spark_conf.update(spark_conf or {})
    if not _start_when_configured.is_set() or on_databricks():
        return None
    _start_when_configured.clear()
    starting = threading.Thread(target=_start_quietly, name="spark-early-start", daemon=True)
    starting.start()
    return starting


def start_early() -> None:
    """Starts the session on a background thread as soon as ``configure`` runs.

    ``kedro run`` asks for this: the JVM then starts while Kedro imports the pipelines,
    builds the catalog and starts the MLflow run (about 8 s of a run's start-up).
    """
    _start_when_configured.set()


def _start_quietly() -> None:
    try:
        get_spark()
    except Exception:  # the first node's own get_spark() raises it where it belongs
        logger.debug("Early Spark start failed", exc_info=True)


def on_databricks() -> bool:
    """True inside a Databricks runtime (jobs, notebooks, serverless)."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def remote_url() -> str | None:
    """The Spark Connect server to use, if any (``spark.remote``, else ``SPARK_REMOTE``)."""
    return _spark_conf.get("spark.remote") or os.environ.get("SPARK_REMOTE") or None


def _setting(value: Any) -> str:
    # YAML's true/false arrive as bool; str(True) is "True", which the JVM accepts but
    # PySpark compares literally to "true" (Arrow in toPandas/createDataFrame stays off).
    return str(value).lower() if isinstance(value, bool) else str(value)


def _session_conf(remote: bool) -> dict[str, str]:
    conf = {k: _setting(v) for k, v in _spark_conf.items() if v is not None and k != "spark.remote"}
    if remote:
        conf = {k: v for k, v in conf.items() if not k.startswith(_CLASSIC_ONLY_PREFIXES)}
    return conf


def _build(remote: str | None) -> SparkSession:
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(_spark_conf.get("spark.app.name", "marvel-mlops"))
    builder = builder.remote(remote) if remote else builder
    for key, value in _session_conf(remote is not None).items():
        builder = builder.config(key, value)
    if remote:
        logger.info("Connecting to Spark Connect at %s", remote)
        return builder.getOrCreate()
    logger.info("Starting a local Spark session (%s)", _spark_conf.get("spark.master"))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def get_spark() -> SparkSession:
    """Returns the active Spark session, creating (or connecting) on first call."""
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
        if "session" not in _built or _stopped(_built["session"]):
            _built["session"] = _build(remote_url())
        return _built["session"]


def _stopped(session: SparkSession) -> bool:
    if hasattr(session, "is_stopped"):  # Spark Connect
        return bool(session.is_stopped)
    from pyspark import SparkContext

    return session.sparkContext is not SparkContext._active_spark_context


def from_arrow(table: Any) -> Any:
    """An Arrow table as a Spark DataFrame, empty tables included (Spark Connect cannot
    infer a schema from zero rows, so the Arrow schema is given explicitly)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    spark = get_spark()
    if table.num_rows == 0:
        return spark.createDataFrame([], schema=from_arrow_schema(table.schema))
    return spark.createDataFrame(table)


def empty_frame(contract: dict[str, str]) -> Any:
    """A Spark DataFrame with no rows and a column contract's schema (``data.schema``)."""
    from marvel_mlops.data.schema import arrow_schema

    return from_arrow(arrow_schema(contract).empty_table())
