"""Nodes of endpoint_ingestion: AI Gateway inference table rows → ``inference_log`` rows.

On Databricks the Model Serving endpoint logs each request to its inference table; this is
how those requests reach ``inference_log``, which monitoring reads. Locally the model
server writes ``inference_log`` itself, and the payload table exists only if you put one
there (the same code then runs on it).
"""

from __future__ import annotations

import logging
from typing import Any

from marvel_mlops.adapters.spark import empty_frame
from marvel_mlops.data.schema import INFERENCE_LOG_COLUMNS
from marvel_mlops.monitoring import endpoint_log

logger = logging.getLogger(__name__)

SERVED_ENTITY_COLUMNS = {
    "served_entity_id": "string",
    "served_entity_name": "string",
    "entity_name": "string",
    "entity_version": "string",
    "endpoint_name": "string",
    "change_time": "timestamp",
}
"""The columns of ``system.serving.served_entities`` that ingestion reads."""


def _with_reject_id(rejects: Any) -> Any:
    """A merge key that exists for whole-request rejects too (``record_index`` null)."""
    from pyspark.sql import functions as F

    parts = [F.col("request_id"), F.coalesce(F.col("record_index"), F.lit(-1)), F.col("reason")]
    return rejects.withColumn("reject_id", F.sha2(F.concat_ws("|", *parts), 256))


def ingest_endpoint_requests(
    payload: Any | None,
    served_entities: Any | None,
    logged: Any | None,
    params: dict[str, Any],
) -> tuple[Any, Any]:
    """New successful requests as ``inference_log`` rows, the unusable ones as rejects.

    Incremental: only requests newer than the newest logged row, minus a lookback for
    late deliveries (the merge on request id and record index drops the re-read ones).
    """
    if payload is None:
        logger.warning("No endpoint inference table yet: nothing to ingest")
        return empty_frame(INFERENCE_LOG_COLUMNS), _with_reject_id(
            empty_frame(endpoint_log.REJECT_COLUMNS)
        )
    entities = (
        served_entities if served_entities is not None else empty_frame(SERVED_ENTITY_COLUMNS)
    )
    watermark = None if logged is None else endpoint_log.endpoint_watermark(logged)
    rows, rejects = endpoint_log.ingest_payload(
        payload, entities, watermark, float(params["lookback_hours"]), params["endpoint_name"]
    )
    logger.info("Ingesting endpoint requests newer than %s (minus the lookback)", watermark)
    return rows, _with_reject_id(rejects)
