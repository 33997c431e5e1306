"""The feature tables: names, key, timestamp and columns (one definition for every engine)."""

from __future__ import annotations

from dataclasses import dataclass

from marvel_mlops.data.schema import FEATURE_COLUMNS, KEY_COLUMN, NUMERIC_FEATURES

TIMESTAMP_COLUMN = "event_timestamp"
"""When a feature row became true (Feast's ``timestamp_field``, Databricks'
``timeseries_columns`` and ``timestamp_lookup_key``)."""

GROUP_KINDS: tuple[str, ...] = ("universe", "team", "creator")
"""Groups a character belongs to: its universe, each of its teams, each of its creators."""


@dataclass(frozen=True)
class FeatureTable:
    """One feature table: its catalog name, primary key, timestamp and feature columns."""

    name: str
    features: dict[str, str]
    key: str = KEY_COLUMN
    timestamp: str = TIMESTAMP_COLUMN

    @property
    def columns(self) -> list[str]:
        """Key, timestamp, then the features."""
        return [self.key, self.timestamp, *self.features]


CHARACTER_ATTRIBUTES = FeatureTable(
    "character_attributes",
    {c: ("double" if c in NUMERIC_FEATURES else "string") for c in FEATURE_COLUMNS},
)
"""A character's attributes as published (what a request by ``page_id`` alone needs)."""

GROUP_FEATURES = FeatureTable(
    "character_group_features",
    {
        **{f"{kind}_characters": "double" for kind in GROUP_KINDS},
        **{f"{kind}_alive_rate": "double" for kind in GROUP_KINDS},
    },
)
"""Aggregates over other characters: how many share the character's universe (and the
largest of its teams and creators), and the smoothed alive rate of those groups from
labels known before the row's timestamp (out of fold for training rows)."""

FEATURE_TABLES: tuple[FeatureTable, ...] = (CHARACTER_ATTRIBUTES, GROUP_FEATURES)
