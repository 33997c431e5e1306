"""Databricks job task values: how one task of a job tells the next what it decided.

The training job's condition task reads ``{{tasks.evaluation.values.promote}}`` and the
monitoring job's reads ``{{tasks.monitoring.values.retrain}}`` (see ``resources/*.yml``).
Nodes stay platform-free: they call :func:`set_task_value`, which publishes through
``dbutils.jobs.taskValues.set`` on a Databricks runtime and does nothing anywhere else.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

logger = logging.getLogger(__name__)

# Databricks limits: keys up to 255 characters, JSON values up to 48 KiB.
MAX_KEY_LENGTH = 255
MAX_VALUE_BYTES = 48 * 1024


def on_databricks() -> bool:
    """True inside a Databricks runtime (classic or serverless job, notebook)."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def _validate(key: str, value: Any) -> None:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"task value key must be a non-empty string of <= 255 chars: {key!r}")
    try:
        size = len(json.dumps(value).encode())
    except (TypeError, ValueError) as exc:
        raise ValueError(f"task value '{key}' is not JSON-serialisable: {exc}") from exc
    if size > MAX_VALUE_BYTES:
        raise ValueError(f"task value '{key}' is {size} bytes as JSON (limit {MAX_VALUE_BYTES})")


def _runtime_dbutils() -> Any | None:
    """The runtime's ``dbutils``: the SDK's runtime module, else the IPython user namespace."""
    try:
        from databricks.sdk.runtime import dbutils

        return dbutils
    except Exception:  # any failure here means "look elsewhere"
        logger.debug("databricks.sdk.runtime has no usable dbutils", exc_info=True)
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return None if shell is None else shell.user_ns.get("dbutils")


def set_task_value(key: str, value: Any) -> bool:
    """Publishes ``key`` = ``value`` as a job task value; returns whether it was published.

    Locally (no Databricks runtime) it only validates the value and returns False, so
    nodes can call it unconditionally. On Databricks a missing ``dbutils`` is an error:
    the downstream condition task would otherwise silently read nothing.
    """
    _validate(key, value)
    if not on_databricks():
        logger.debug("Not on Databricks: task value %s=%r not published", key, value)
        return False
    dbutils = _runtime_dbutils()
    if dbutils is None:
        raise RuntimeError(
            f"On a Databricks runtime but no dbutils is available to publish task value '{key}'"
        )
    dbutils.jobs.taskValues.set(key=key, value=value)
    logger.info("Published job task value %s=%r", key, value)
    return True
