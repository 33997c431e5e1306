"""Point-in-time feature lookups as one interface for every home.

A node asks a ``FeatureLookup`` for a training set (labels, keys, timestamps in; features
as of each row's timestamp out) and for the table versions it used (lineage). Locally
the implementation is Feast (``adapters.feast_store``); on Databricks it is
``databricks-feature-engineering``'s ``FeatureLookup(..., timestamp_lookup_key=...)``.
"""

from __future__ import annotations

from typing import Any, Protocol

import pandas as pd

from marvel_mlops.adapters.feast_store import FeastStore, TableVersion, pinned_tables
from marvel_mlops.features_store.checks import FeatureTableError
from marvel_mlops.features_store.definitions import CHARACTER_ATTRIBUTES, TIMESTAMP_COLUMN


class FeatureLookup(Protocol):
    """What training and publishing need from a feature store."""

    def training_set(self, spine: pd.DataFrame, features: dict[str, list[str]]) -> pd.DataFrame:
        """The spine's rows with each named feature as of the row's ``event_timestamp``."""
        ...

    def versions(self) -> dict[str, dict[str, Any]]:
        """Each feature table's name → ``{"table": ..., "version": ...}`` used."""
        ...

    def latest_features(self, features: dict[str, list[str]]) -> Any:
        """Every key's latest value of each named feature (batch scoring by key)."""
        ...

    def arrival_features(self, frame: pd.DataFrame, features: dict[str, list[str]]) -> Any:
        """``frame``'s rows with the named features as of each key's arrival (evaluation)."""
        ...


def arrival_spine(frame: pd.DataFrame, arrivals: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each key's arrival as ``event_timestamp``; a key without one is an
    error naming it."""
    key = CHARACTER_ATTRIBUTES.key
    spine = frame.drop(columns=[TIMESTAMP_COLUMN], errors="ignore").merge(
        arrivals, on=key, how="left", validate="m:1"
    )
    missing = spine[spine[TIMESTAMP_COLUMN].isna()][key]
    if len(missing):
        raise FeatureTableError(
            f"feature table {CHARACTER_ATTRIBUTES.name!r}: no row for key {key}="
            f"{missing.iloc[0]!r} (column {TIMESTAMP_COLUMN!r}): run feature_engineering first"
        )
    return spine


class FeastLookup:
    """``FeatureLookup`` through a local Feast repository, pinned to table versions."""

    def __init__(self, store: FeastStore, tables: list[TableVersion] | dict[str, str]) -> None:
        """``tables``: pinned versions, or name → Delta path (pinned at first use, so that
        loading the dataset costs nothing when no lookup happens)."""
        self.store, self._tables = store, tables
        self._registered = False

    @property
    def tables(self) -> list[TableVersion]:
        """Each feature table at the version this lookup reads (pinned once)."""
        if isinstance(self._tables, dict):
            self._tables = pinned_tables(self._tables)
        return self._tables

    def _register(self) -> None:
        """``feast apply`` of the pinned versions, once, when a lookup needs Feast."""
        if not self._registered:
            self.store.register(self.tables)
            self._registered = True

    def training_set(self, spine: pd.DataFrame, features: dict[str, list[str]]) -> pd.DataFrame:
        """``get_historical_features`` (Feast's point-in-time join)."""
        self._register()
        return self.store.historical_features(spine, features)

    def freshness(self) -> dict[str, Any]:
        """What the online store holds against the offline tables; ``stale`` says why it is
        behind (None when current)."""
        from marvel_mlops.features_store.online import staleness

        paths = (
            self._tables
            if isinstance(self._tables, dict)
            else {t.table.name: t.path for t in self._tables}
        )
        published = self.store.published()
        return {"stale": staleness(published, paths), "published": published}

    def latest_features(self, features: dict[str, list[str]]) -> pd.DataFrame:
        """Every key's latest row (at or before now) of the pinned versions, named columns."""
        return self.store.latest_rows(self.tables, features)

    def arrival_features(self, frame: pd.DataFrame, features: dict[str, list[str]]) -> pd.DataFrame:
        """``frame``'s rows with the named features as of each key's arrival (its first
        ``character_attributes`` row): how a held-out row is scored point in time."""
        return self.training_set(arrival_spine(frame, self.store.arrivals(self.tables)), features)

    def versions(self) -> dict[str, dict[str, Any]]:
        """The Delta versions the lookups read."""
        return {t.table.name: {"table": t.path, "version": t.version} for t in self.tables}

    def publish(self, as_of: Any) -> dict[str, Any]:
        """Materialises the latest row per key up to ``as_of`` into the online store
        (nothing when it already holds these versions as of ``as_of``)."""
        end = pd.Timestamp(as_of).to_pydatetime()
        if self.store.holds(self.tables, end):
            return self.store.published() or {}
        self._register()
        return self.store.materialize(self.tables, end)
