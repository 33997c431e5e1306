"""Feast as the local feature store: offline point-in-time lookups and the online store.

The feature tables are Delta tables (written by the feature_engineering pipeline). Feast's
local (dask) offline store reads Parquet and would read every file of a Delta directory,
including files a later version removed; so each table's Delta version is exported once
to ``<repo>/offline/<table>/v<version>.parquet`` and Feast reads that snapshot: a lookup
is always against one named Delta version (the lineage tag on the model version).

Online: SQLite (embedded, the default) or Redis (``online: {type: redis,
connection_string: host:port}``), filled by ``materialize``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from marvel_mlops.adapters import delta
from marvel_mlops.features_store.checks import FeatureTableError, check_frame
from marvel_mlops.features_store.definitions import (
    CHARACTER_ATTRIBUTES,
    FEATURE_TABLES,
    FeatureTable,
)

logger = logging.getLogger(__name__)

ENTITY = "character"
PUBLISHED = "published.json"


@dataclass(frozen=True)
class TableVersion:
    """A feature table pinned to one Delta version."""

    table: FeatureTable
    path: str
    version: int


def _feast_type(kind: str) -> Any:
    from feast.types import Float64, String

    return Float64 if kind == "double" else String


class FeastStore:
    """One Feast repository (registry, offline snapshots, online store) under ``repo``."""

    def __init__(self, repo: str | Path, project: str = "marvel_mlops", online: dict | None = None):
        self.repo = Path(repo).resolve()
        self.project = project
        self.online = dict(online or {"type": "sqlite", "path": str(self.repo / "online.db")})
        self._store: Any = None

    @property
    def store(self) -> Any:
        """The ``feast.FeatureStore`` (created on first use)."""
        if self._store is None:
            from feast import FeatureStore
            from feast.repo_config import RepoConfig

            self.repo.mkdir(parents=True, exist_ok=True)
            config = RepoConfig(
                project=self.project,
                registry=str(self.repo / "registry.db"),
                provider="local",
                online_store=self.online,
                offline_store={"type": "dask"},
                entity_key_serialization_version=3,
                repo_path=str(self.repo),
            )
            self._store = FeatureStore(config=config)
        return self._store

    def _snapshot(self, pinned: TableVersion) -> Path:
        target = self.repo / "offline" / pinned.table.name / f"v{pinned.version}.parquet"
        if not target.exists():
            rows = delta.open_table(pinned.path, pinned.version).to_pyarrow_table(
                columns=pinned.table.columns
            )
            check_frame(
                rows.select([pinned.table.key, pinned.table.timestamp]).to_pandas(),
                pinned.table.name,
                pinned.table.key,
                pinned.table.timestamp,
                datetime.now(UTC),
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            pq.write_table(rows, tmp)
            tmp.replace(target)
        return target

    def register(self, tables: list[TableVersion]) -> None:
        """Declares the entity and one feature view per table version (``feast apply``)."""
        from feast import Entity, FeatureView, Field, FileSource
        from feast.value_type import ValueType

        entity = Entity(name=ENTITY, join_keys=[tables[0].table.key], value_type=ValueType.STRING)
        views = []
        for pinned in tables:
            source = FileSource(
                name=f"{pinned.table.name}_v{pinned.version}",
                path=str(self._snapshot(pinned)),
                timestamp_field=pinned.table.timestamp,
            )
            schema = [Field(name=c, dtype=_feast_type(k)) for c, k in pinned.table.features.items()]
            views.append(
                FeatureView(
                    name=pinned.table.name,
                    entities=[entity],
                    ttl=timedelta(0),  # no expiry: the latest row at or before the time
                    schema=schema,
                    source=source,
                    online=True,
                    tags={"delta_version": str(pinned.version), "delta_table": pinned.path},
                )
            )
        self.store.apply([entity, *views])

    def historical_features(
        self, spine: pd.DataFrame, features: dict[str, list[str]]
    ) -> pd.DataFrame:
        """``get_historical_features``: each spine row's features as of its timestamp.

        The spine needs the key and ``event_timestamp``; its other columns (labels) pass
        through. Rows come back in the spine's order.
        """
        refs = [f"{table}:{column}" for table, columns in features.items() for column in columns]
        ordered = spine.reset_index(drop=True).assign(_row=lambda f: range(len(f)))
        found = self.store.get_historical_features(entity_df=ordered, features=refs).to_df()
        # Feast's dask store leaves out rows that have no feature value yet: keep every
        # spine row (features missing), in the spine's order.
        columns = ["_row", *[c for cols in features.values() for c in cols]]
        out = ordered.merge(found[columns], on="_row", how="left", validate="1:1")
        return out.drop(columns="_row")

    def holds(self, tables: list[TableVersion], end: datetime) -> bool:
        """Whether the online store already holds these versions as of ``end``."""
        current = self.published()
        wanted = {t.table.name: {"path": t.path, "version": t.version} for t in tables}
        if current and current["tables"] == wanted and current["as_of"] == end.isoformat():
            logger.info("Online store already holds %s as of %s", wanted, current["as_of"])
            return True
        return False

    def latest_rows(self, tables: list[TableVersion], features: dict[str, list[str]]):
        """Each key's latest row (at or before now) of each named table, named columns."""
        now, merged = pd.Timestamp(datetime.now(UTC)), None
        for pinned in tables:
            if pinned.table.name not in features:
                continue
            key, ts = pinned.table.key, pinned.table.timestamp
            frame = pq.read_table(self._snapshot(pinned)).to_pandas()
            frame = frame[pd.to_datetime(frame[ts], utc=True) <= now]
            latest = frame.sort_values(ts).drop_duplicates(key, keep="last")
            latest = latest[[key, *features[pinned.table.name]]]
            merged = latest if merged is None else merged.merge(latest, on=key, how="outer")
        return merged

    def arrivals(self, tables: list[TableVersion]) -> pd.DataFrame:
        """Each key's first ``character_attributes`` timestamp (its arrival)."""
        pinned = next(t for t in tables if t.table.name == CHARACTER_ATTRIBUTES.name)
        key, ts = pinned.table.key, pinned.table.timestamp
        rows = pq.read_table(self._snapshot(pinned), columns=[key, ts]).to_pandas()
        return rows.groupby(key, as_index=False)[ts].min()

    def materialize(self, tables: list[TableVersion], end: datetime) -> dict[str, Any]:
        """Publishes the latest row per key up to ``end`` to the online store.

        Records which Delta version of each table the online store now holds.
        """
        wanted = {t.table.name: {"path": t.path, "version": t.version} for t in tables}
        start = datetime(1970, 1, 1, tzinfo=UTC)
        self.store.materialize(
            start_date=start, end_date=end, feature_views=[t.table.name for t in tables]
        )
        published = {
            "published_at_utc": datetime.now(UTC).isoformat(),
            "as_of": end.isoformat(),
            "online_store": self.online.get("type", "sqlite"),
            "tables": wanted,
        }
        marker = self.repo / PUBLISHED
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(json.dumps(published, indent=2))
        tmp.replace(marker)
        return published

    def published(self) -> dict[str, Any] | None:
        """What the online store holds (table versions), or None before the first publish."""
        marker = self.repo / PUBLISHED
        return json.loads(marker.read_text()) if marker.exists() else None

    def online_features(self, keys: list[str], features: dict[str, list[str]]) -> dict[str, list]:
        """``get_online_features`` for the given keys (column → values, keys included)."""
        refs = [f"{table}:{column}" for table, columns in features.items() for column in columns]
        rows = [{FEATURE_TABLES[0].key: k} for k in keys]
        return self.store.get_online_features(features=refs, entity_rows=rows).to_dict()


def pinned_tables(lakehouse_paths: dict[str, str]) -> list[TableVersion]:
    """Each named feature table at its current Delta version (an error names a missing one)."""
    out = []
    for table in (t for t in FEATURE_TABLES if t.name in lakehouse_paths):
        path = lakehouse_paths[table.name]
        version = delta.latest_version(path)
        if version is None:
            raise FeatureTableError(
                f"feature table {table.name!r} does not exist at {path}: run "
                "`kedro run --pipelines feature_engineering` first"
            )
        out.append(TableVersion(table, path, version))
    return out
