"""Databricks Model Serving inference table → ``inference_log`` rows (Spark, Spark Connect safe).

The endpoint's AI Gateway inference table (``<catalog>.<schema>.<prefix>_payload``) holds one
row per request (``PAYLOAD_COLUMNS``): the JSON body sent, the JSON body returned, the HTTP
status, the model time and the served entity. This module turns each successful request into
one ``inference_log`` row per record (``INFERENCE_LOG_COLUMNS``) and keeps every row it cannot
use in a second frame of rejects with a short reason; nothing is dropped silently.

Only DataFrame API calls, ``mapInPandas`` and window functions are used: no ``sparkContext``,
no RDDs, no JVM access, so it runs on classic Spark and on Spark Connect (serverless) alike.
The JSON parsing is plain Python (``json``) inside ``mapInPandas``.

Request bodies in MLflow's scoring protocol (``mlflow.pyfunc.scoring_server``):
``dataframe_records`` (list of records), ``dataframe_split`` (``columns``, ``data``, optional
``index``), ``inputs`` or ``instances`` (list of records, or an object of equal-length columns).
Response bodies: ``{"predictions": [...]}`` where the pyfunc's output frame serialises as a
list of records (``DataFrame.to_dict(orient="records")``); an object of columns is accepted too.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812

from marvel_mlops.data.schema import FEATURE_COLUMNS, INFERENCE_LOG_COLUMNS, NUMERIC_FEATURES

logger = logging.getLogger(__name__)

PAYLOAD_COLUMNS: dict[str, str] = {
    "request_date": "DATE",
    "databricks_request_id": "STRING",
    "client_request_id": "STRING",
    "request_time": "TIMESTAMP",
    "status_code": "INT",
    "sampling_fraction": "DOUBLE",
    "execution_duration_ms": "BIGINT",
    "request": "STRING",
    "response": "STRING",
    "served_entity_id": "STRING",
    "logging_error_codes": "ARRAY<STRING>",
    "requester": "STRING",
}
"""The documented AI Gateway inference (payload) table, column → Spark SQL type."""


REJECT_COLUMNS: dict[str, str] = {
    "request_id": "string",
    "record_index": "int",
    "reason": "string",
    "request": "string",
    "response": "string",
    "request_time": "timestamp",
}
"""Rows that could not become ``inference_log`` rows (``record_index`` null: whole request)."""

INPUT_COLUMNS = ("page_id", *FEATURE_COLUMNS)
"""Columns read from each request record (the model's inputs plus ``page_id``)."""

TEXT_LIMIT = 2000
"""Rejects keep at most this many characters of the raw request and response bodies."""

UNREGISTERED = "unregistered"
"""What our pyfunc reports as its version when loaded without ``model_config`` (as the
Databricks serving container does): then the served entity's ``entity_version`` is used."""

_SPARK_TYPES = {
    "string": "STRING",
    "int": "INT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "long": "BIGINT",
}
_PARSED: dict[str, str] = {
    "request_id": "string",
    "record_index": "int",
    "request_time_us": "long",
    "served_entity_id": "string",
    "execution_duration_ms": "long",
    "record_count": "int",
    **{c: INFERENCE_LOG_COLUMNS[c] for c in INPUT_COLUMNS},
    "probability": "double",
    "label": "int",
    "response_version": "string",
    "reason": "string",
    "request": "string",
    "response": "string",
}
PARSED_DDL = ", ".join(f"{n} {_SPARK_TYPES[k]}" for n, k in _PARSED.items())
_PASSTHROUGH = ("request_id", "request_time_us", "served_entity_id", "execution_duration_ms")


class PayloadProblem(ValueError):
    """A request that cannot be used as a whole; ``reason`` is the reject code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------- request and response bodies


def request_records(body: Any) -> list[dict]:
    """The records of a scoring-protocol request body, in request order."""
    if not isinstance(body, dict):
        raise PayloadProblem("unknown_format")
    found = [
        k for k in ("dataframe_records", "dataframe_split", "inputs", "instances") if k in body
    ]
    if len(found) != 1:
        raise PayloadProblem("unknown_format")
    value = body[found[0]]
    if found[0] == "dataframe_split":
        return _split_records(value)
    if found[0] == "dataframe_records":
        return _record_list(value)
    return _record_list(value) if isinstance(value, list) else _column_records(value)


def _record_list(value: Any) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise PayloadProblem("bad_records")
    return value


def _split_records(split: Any) -> list[dict]:
    """``dataframe_split``: one record per row of ``data``, keyed by ``columns``."""
    if not isinstance(split, dict):
        raise PayloadProblem("bad_records")
    columns, data = split.get("columns"), split.get("data")
    if not isinstance(columns, list) or not isinstance(data, list):
        raise PayloadProblem("bad_records")
    if not all(isinstance(row, list) and len(row) == len(columns) for row in data):
        raise PayloadProblem("bad_records")
    return [dict(zip(columns, row, strict=True)) for row in data]


def _column_records(columns: Any) -> list[dict]:
    """An object of equal-length columns (or of scalars: one record) as records."""
    if not isinstance(columns, dict) or not columns:
        raise PayloadProblem("bad_records")
    if not any(isinstance(v, list) for v in columns.values()):
        return [columns]
    lengths = {len(v) if isinstance(v, list) else -1 for v in columns.values()}
    if len(lengths) != 1:
        raise PayloadProblem("bad_records")
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def response_predictions(body: Any) -> list[dict]:
    """The per-record predictions of a ``{"predictions": ...}`` response body."""
    predictions = body.get("predictions") if isinstance(body, dict) else None
    if isinstance(predictions, dict):
        try:
            return _column_records(predictions)
        except PayloadProblem:
            raise PayloadProblem("bad_predictions") from None
    if not isinstance(predictions, list) or not all(isinstance(p, dict) for p in predictions):
        raise PayloadProblem("bad_predictions")
    return predictions


def _number(value: Any) -> float | None:
    """A JSON number as float; null and NaN (sent by pandas-based clients) are missing."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    return None if math.isnan(value) else float(value)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(value)


def record_row(record: dict, prediction: dict) -> dict:
    """One output row's values from a request record and its prediction (``reason`` on error)."""
    row: dict[str, Any] = {}
    for column in INPUT_COLUMNS:
        convert = _number if column in NUMERIC_FEATURES else _text
        try:
            row[column] = convert(record.get(column))
        except TypeError:
            return {"reason": f"bad_feature:{column}"}
    try:
        row["probability"] = _number(prediction.get("probability"))
        label = _number(prediction.get("label"))
    except TypeError:
        return {"reason": "bad_prediction"}
    if row["probability"] is None or label not in (0.0, 1.0):
        return {"reason": "bad_prediction"}
    row["label"] = int(label)
    version = prediction.get("model_version")
    row["response_version"] = None if version is None else str(version)
    return row


# ---------------------------------------------------------------- one payload row


def _body_problem(status: Any, request: Any, response: Any, error_codes: Any) -> str | None:
    """The reason a request cannot be parsed at all, from its status and logging fields."""
    codes = [str(c) for c in error_codes] if error_codes is not None else []
    if status is None or (isinstance(status, float) and math.isnan(status)):
        return "missing_status"
    if int(status) != 200:
        return f"http_{int(status)}"
    if request is None or response is None:
        return f"not_logged:{'+'.join(codes)}" if codes else "missing_body"
    return None


def parse_payload_row(
    status: Any, request: Any, response: Any, error_codes: Any = None
) -> list[dict]:
    """Output rows of one payload row: one per record, or one reject for the whole request."""
    problem = _body_problem(status, request, response, error_codes)
    if problem:
        return [{"reason": problem}]
    try:
        records = request_records(_loads(request, "bad_json_request"))
        predictions = response_predictions(_loads(response, "bad_json_response"))
    except PayloadProblem as error:
        return [{"reason": error.reason}]
    if not records or len(records) != len(predictions):
        return [{"reason": "count_mismatch" if records else "no_records"}]
    rows = [record_row(r, p) for r, p in zip(records, predictions, strict=True)]
    for index, row in enumerate(rows):
        row["record_index"] = index
        row["record_count"] = len(rows)
    return rows


def _loads(text: str, reason: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        raise PayloadProblem(reason) from None


def _parsed_batch(batch: pd.DataFrame) -> pd.DataFrame:
    """``mapInPandas`` body: payload rows → parsed rows (``_PARSED`` columns)."""
    out: list[dict] = []
    for row in batch.to_dict(orient="records"):
        results = (
            [{"reason": "missing_request_id"}]
            if row["request_id"] is None
            else parse_payload_row(
                row["status_code"], row["request"], row["response"], row["logging_error_codes"]
            )
        )
        for parsed in results:
            parsed.update({k: row[k] for k in _PASSTHROUGH})
            if parsed.get("reason"):
                parsed["request"] = _clip(row["request"])
                parsed["response"] = _clip(row["response"])
            out.append(parsed)
    return pd.DataFrame(out, columns=list(_PARSED)).astype(_pandas_types())


def _clip(text: Any) -> str | None:
    return None if text is None else str(text)[:TEXT_LIMIT]


def _pandas_types() -> dict[str, str]:
    kinds = {"string": "object", "int": "Int32", "long": "Int64", "double": "float64"}
    return {name: kinds[kind] for name, kind in _PARSED.items()}


def _parse_partitions(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in batches:
        yield _parsed_batch(batch)


# ---------------------------------------------------------------- Spark


def parse_payload(payload: DataFrame) -> DataFrame:
    """Payload rows → parsed rows (one per record, or one reject per unusable request)."""
    columns = payload.select(
        F.col("databricks_request_id").alias("request_id"),
        F.unix_micros("request_time").alias("request_time_us"),
        "served_entity_id",
        "execution_duration_ms",
        "status_code",
        "request",
        "response",
        "logging_error_codes",
    )
    return columns.mapInPandas(_parse_partitions, PARSED_DDL)


def latest_served_entities(
    served_entities: DataFrame, endpoint_name: str | None = None
) -> DataFrame:
    """``served_entity_id`` → ``served_entity_name``, ``entity_version`` (latest change wins).

    ``system.serving.served_entities`` keeps one row per configuration change of an entity.
    """
    frame = served_entities
    if endpoint_name is not None:
        frame = frame.where(F.col("endpoint_name") == endpoint_name)
    if "change_time" in frame.columns:
        latest = Window.partitionBy("served_entity_id").orderBy(F.col("change_time").desc())
        frame = frame.withColumn("_n", F.row_number().over(latest)).where("_n = 1")
    return frame.select(
        "served_entity_id",
        "served_entity_name",
        F.col("entity_version").cast("string").alias("entity_version"),
    ).dropDuplicates(["served_entity_id"])


def _model_version() -> Column:
    """The version the response names, else the served entity's version (see UNREGISTERED)."""
    reported = F.col("response_version")
    known = reported.isNotNull() & (reported != F.lit(UNREGISTERED))
    return F.when(known, reported).otherwise(F.coalesce("entity_version", reported))


def inference_rows(parsed: DataFrame, entities: DataFrame) -> DataFrame:
    """Parsed record rows → ``inference_log`` rows (contract columns and types)."""
    rows = parsed.where(F.col("reason").isNull()).join(
        F.broadcast(entities), "served_entity_id", "left"
    )
    values = {
        "timestamp_utc": F.timestamp_micros("request_time_us"),
        "model_version": _model_version(),
        "variant": F.coalesce("served_entity_name", "served_entity_id"),
        "served": F.lit(True),
        "latency_ms": F.col("execution_duration_ms") / F.col("record_count"),
        "feature_source": F.lit("request"),
        "feature_version": F.lit(None),
    }
    return rows.select(
        *[
            (values[name] if name in values else F.col(name)).cast(_SPARK_TYPES[kind]).alias(name)
            for name, kind in INFERENCE_LOG_COLUMNS.items()
        ]
    ).dropDuplicates(["request_id", "record_index"])


def reject_rows(parsed: DataFrame) -> DataFrame:
    """Parsed reject rows → ``REJECT_COLUMNS``."""
    rejects = parsed.where(F.col("reason").isNotNull()).withColumn(
        "request_time", F.timestamp_micros("request_time_us")
    )
    return rejects.select(
        *[F.col(n).cast(_SPARK_TYPES[k]).alias(n) for n, k in REJECT_COLUMNS.items()]
    ).dropDuplicates(["request_id", "record_index", "reason"])


# ---------------------------------------------------------------- incremental


def endpoint_watermark(inference_log: DataFrame) -> datetime | None:
    """The newest ``timestamp_utc`` already ingested (UTC), or None for an empty log.

    On Databricks ``inference_log`` holds only endpoint rows (nothing else writes there).
    """
    micros = inference_log.select(F.max(F.unix_micros("timestamp_utc"))).first()[0]
    return (
        None
        if micros is None
        else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(micros))
    )


def new_requests(
    payload: DataFrame, watermark: datetime | None, lookback_hours: float = 24.0
) -> DataFrame:
    """Payload rows with ``request_time`` after ``watermark`` minus a lookback margin.

    ``request_time`` (when the endpoint received the request) is the same instant that becomes
    ``timestamp_utc``, so the watermark read back from ``inference_log`` compares like with
    like; ``request_date`` is only a day and would re-read or skip requests within a day (it
    is used only as an extra predicate, so the date-clustered table can skip files).
    Databricks delivers payload rows best effort and possibly late: a row whose
    ``request_time`` is older than the watermark when it lands would be missed for good, so
    every run re-reads ``lookback_hours`` before the watermark. Re-read requests produce the
    same ``(request_id, record_index)`` keys, which the merge into ``inference_log``
    de-duplicates. Rows later than the margin are still missed: size it above the delivery
    delay you observe. A naive ``watermark`` is taken as UTC.
    """
    if watermark is None:
        return payload
    bound = watermark if watermark.tzinfo else watermark.replace(tzinfo=UTC)
    bound = bound - timedelta(hours=lookback_hours)
    micros = (bound - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return payload.where(
        (F.col("request_date") >= F.lit(bound.date()))
        & (F.unix_micros("request_time") > F.lit(micros))
    )


def ingest_payload(
    payload: DataFrame,
    served_entities: DataFrame,
    watermark: datetime | None = None,
    lookback_hours: float = 24.0,
    endpoint_name: str | None = None,
) -> tuple[DataFrame, DataFrame]:
    """``inference_log`` rows and rejects for the payload rows newer than ``watermark``.

    Write the rows with a merge on ``(request_id, record_index)``: reruns and the lookback
    re-read give the same keys. Counts of rows and rejects (by reason) are logged.
    """
    parsed = parse_payload(new_requests(payload, watermark, lookback_hours))
    rows = inference_rows(parsed, latest_served_entities(served_entities, endpoint_name))
    rejects = reject_rows(parsed)
    _log_counts(parsed)
    return rows, rejects


def _log_counts(parsed: DataFrame) -> None:
    counts = {(r["reason"] or "ok"): r["count"] for r in parsed.groupBy("reason").count().collect()}
    ok = counts.pop("ok", 0)
    logger.info("Endpoint payload: %d record rows, %d rejects %s", ok, sum(counts.values()), counts)
    if counts:
        logger.warning("Endpoint payload rejects by reason: %s", counts)
