"""The raw Marvel characters schema and the cleaned column names used everywhere else."""

from __future__ import annotations

import pyarrow as pa

from marvel_mlops.model.features import INPUT_COLUMNS

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
"""Arrow types of the contract type names used below (Delta-compatible)."""


RAW_COLUMNS: tuple[str, ...] = (
    "PageID",
    "Name",
    "Universe",
    "URL",
    "Identity",
    "Gender",
    "Alive",
    "Marital Status",
    "Teams",
    "Height (m)",
    "Weight (kg)",
    "Origin",
    "Creators",
)

RAW_TO_CLEAN: dict[str, str] = {
    "PageID": "page_id",
    "Name": "name",
    "Universe": "universe",
    "URL": "url",
    "Identity": "identity",
    "Gender": "gender",
    "Alive": "alive",
    "Marital Status": "marital_status",
    "Teams": "teams",
    "Height (m)": "height_m",
    "Weight (kg)": "weight_kg",
    "Origin": "origin",
    "Creators": "creators",
}


NUMERIC_RAW_COLUMNS: tuple[str, ...] = ("Height (m)", "Weight (kg)")

LABEL_VALUES: dict[str, int] = {"alive": 1, "dead": 0}
"""Accepted label spellings (compared case-insensitively, trimmed) and their encoding."""

FEATURE_COLUMNS: tuple[str, ...] = INPUT_COLUMNS
"""Raw character attributes the model consumes (clean names); defined with the model code,
which travels with every registered model."""

CATEGORICAL_FEATURES: tuple[str, ...] = (
    "universe",
    "identity",
    "gender",
    "marital_status",
    "teams",
    "origin",
    "creators",
)
NUMERIC_FEATURES: tuple[str, ...] = ("height_m", "weight_kg")
KEY_COLUMN = "page_id"
LABEL_COLUMN = "alive"

INFERENCE_LOG_COLUMNS: dict[str, str] = {
    "request_id": "string",
    "record_index": "int",
    "timestamp_utc": "timestamp",
    "page_id": "string",
    **{c: ("double" if c in NUMERIC_FEATURES else "string") for c in FEATURE_COLUMNS},
    "probability": "double",
    "label": "int",
    "model_version": "string",
    "variant": "string",
    "served": "boolean",
    "latency_ms": "double",
    "feature_source": "string",
    "feature_version": "string",
}
"""The ``inference_log`` table: one row per scored record (server, replay or endpoint).

``variant`` is ``champion`` or ``challenger``; ``served`` is false for shadow scores that
were logged but not returned. ``latency_ms`` is the request's model time per record.
``feature_source`` is ``request`` (the attributes came with the record) or ``online_store``
(looked up by ``page_id``), and ``feature_version`` then names the feature tables' Delta
versions the online store served (``character_attributes@v3,...``).
"""

GROUND_TRUTH_COLUMNS: dict[str, str] = {
    "page_id": "string",
    "alive": "int",
    "observed_at_utc": "timestamp",
}
"""The ``ground_truth`` table: true labels that arrive after the predictions."""


def arrow_schema(contract: dict[str, str]) -> pa.Schema:
    """The Arrow schema of a column contract (``INFERENCE_LOG_COLUMNS``, ...)."""
    return pa.schema([pa.field(name, ARROW_TYPES[kind]) for name, kind in contract.items()])
