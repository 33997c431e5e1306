"""Generated traffic: characters to score, inference-log rows and late ground truth."""

from __future__ import annotations

import time
import uuid
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from marvel_mlops.data.generator import DriftSpec, generate_characters
from marvel_mlops.data.schema import (
    FEATURE_COLUMNS,
    GROUND_TRUTH_COLUMNS,
    INFERENCE_LOG_COLUMNS,
    RAW_TO_CLEAN,
    arrow_schema,
)
from marvel_mlops.model.decision import alive_labels


def characters(n_rows: int, seed: int, drift: DriftSpec | dict | None = None) -> pd.DataFrame:
    """Generated characters with clean column names, blanks as nulls, ``alive`` as 0/1.

    PageIDs get the seed as suffix so that batches never reuse a character's key.
    """
    frame = generate_characters(n_rows, seed, drift).rename(columns=RAW_TO_CLEAN)
    frame = frame.replace({"": None})
    frame["alive"] = (frame["alive"] == "Alive").astype("int32")
    frame["page_id"] = frame["page_id"] + f"~{seed}"
    return frame


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready request records: ``page_id`` and the model's inputs (nulls as None)."""
    subset = frame[["page_id", *FEATURE_COLUMNS]].astype(object)
    return subset.where(subset.notna(), None).to_dict(orient="records")


def scored_rows(
    frame: pd.DataFrame, python_model: Any, version: str, timestamps: pd.Series
) -> pd.DataFrame:
    """Inference-log rows for ``frame`` scored by the model (variant champion, served)."""
    started = time.perf_counter()
    probability = python_model.predict_proba(frame[list(FEATURE_COLUMNS)])
    latency_ms = (time.perf_counter() - started) * 1000 / max(len(frame), 1)
    request_id = str(uuid.uuid4())
    return frame[["page_id", *FEATURE_COLUMNS]].assign(
        request_id=request_id,
        record_index=np.arange(len(frame), dtype="int32"),
        timestamp_utc=pd.to_datetime(timestamps.to_numpy(), utc=True),
        probability=probability,
        label=alive_labels(probability, python_model.threshold).astype("int32"),
        model_version=str(version),
        variant="champion",
        served=True,
        latency_ms=latency_ms,
        feature_source="request",
        feature_version=None,
    )[list(INFERENCE_LOG_COLUMNS)]


def label_rows(frame: pd.DataFrame, observed_at: pd.Series) -> pd.DataFrame:
    """Ground-truth rows: the true label of each character and when it was observed."""
    return pd.DataFrame(
        {
            "page_id": frame["page_id"].to_numpy(),
            "alive": frame["alive"].astype("int32").to_numpy(),
            "observed_at_utc": pd.to_datetime(observed_at.to_numpy(), utc=True),
        }
    )


def to_arrow(frame: pd.DataFrame, contract: dict[str, str]) -> pa.Table:
    """The frame as Arrow with exactly the table contract's columns and types."""
    schema = arrow_schema(contract)
    frame = frame[list(contract)].copy()
    for column, kind in contract.items():
        if kind == "timestamp":
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.floor("us")
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def inference_arrow(frame: pd.DataFrame) -> pa.Table:
    """Inference-log rows as Arrow (``INFERENCE_LOG_COLUMNS``)."""
    return to_arrow(frame, INFERENCE_LOG_COLUMNS)


def ground_truth_arrow(frame: pd.DataFrame) -> pa.Table:
    """Ground-truth rows as Arrow (``GROUND_TRUTH_COLUMNS``)."""
    return to_arrow(frame, GROUND_TRUTH_COLUMNS)


def uniform_times(start: pd.Timestamp, length: pd.Timedelta, n: int, seed: int) -> pd.Series:
    """``n`` sorted random instants in ``[start, start + length)``."""
    offsets = np.sort(np.random.default_rng(seed).random(n)) * length.total_seconds()
    return pd.Series(start + pd.to_timedelta(offsets, unit="s"))


def demo_batches(params: dict[str, Any], granularity: str, now: pd.Timestamp) -> list[dict]:
    """The demo plan: consecutive windows ending at ``now``; later ones drifted, the last
    ``unlabelled_windows`` without labels yet."""
    step = pd.Timedelta(granularity)
    n = int(params["windows"])
    first = now.floor(step) - n * step
    plan = []
    for i in range(n):
        plan.append(
            {
                "start": first + i * step,
                "length": step,
                "seed": int(params["seed"]) + i,
                "drift": params["drift"] if i >= int(params["drift_from_window"]) else None,
                "labelled": i < n - int(params["unlabelled_windows"]),
                "label_delay": pd.Timedelta(params["label_delay"]),
            }
        )
    return plan
