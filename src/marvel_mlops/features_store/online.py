"""The server's view of the online store: every key's published features, in memory.

A lookup per request through Feast's ``get_online_features`` costs milliseconds (SQLite
or Redis round trip, protobuf decoding; measured in benchmarks/serving.py), more than the
whole scoring budget. So the server holds what was published — the latest row per key at
or before the publication's ``as_of`` of each table's published Delta version, the rows
``materialize`` wrote to the online store — in a dict keyed by ``page_id``, and reloads
it when a newer version is published (``published.json`` changes). ``stale()`` says when
the offline tables are newer than what is published.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from marvel_mlops.adapters import delta
from marvel_mlops.adapters.feast_store import PUBLISHED
from marvel_mlops.features_store.definitions import FEATURE_TABLES, TIMESTAMP_COLUMN

KEY = FEATURE_TABLES[0].key


class UnknownKeys(LookupError):
    """Keys the online store has no features for."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(", ".join(keys))
        self.keys = keys


def published_rows(repo: Path, published: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``page_id`` → features of every published table, as of the publication."""
    as_of = pd.Timestamp(published["as_of"])
    merged: pd.DataFrame | None = None
    for name, table in published["tables"].items():
        frame = pq.read_table(repo / "offline" / name / f"v{table['version']}.parquet").to_pandas()
        frame = frame[pd.to_datetime(frame[TIMESTAMP_COLUMN], utc=True) <= as_of]
        latest = frame.sort_values(TIMESTAMP_COLUMN).drop_duplicates(KEY, keep="last")
        latest = latest.drop(columns=TIMESTAMP_COLUMN)
        merged = latest if merged is None else merged.merge(latest, on=KEY, how="outer")
    if merged is None:
        return {}
    merged = merged.astype(object).where(merged.notna(), None)
    return {row[KEY]: row for row in merged.to_dict("records")}


class OnlineFeatures:
    """Published features by key, reloaded when a newer publication appears."""

    def __init__(self, repo: str | Path, tables: dict[str, str] | None = None) -> None:
        self.repo = Path(repo)
        self.tables = dict(tables or {})
        self.rows: dict[str, dict[str, Any]] = {}
        self.published: dict[str, Any] | None = None
        self.version = "none"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, interval_s: float) -> None:
        """Loads now in a background thread, then reloads on a new publication."""
        self._thread = threading.Thread(
            target=self._run, args=(interval_s,), name="online-features", daemon=True
        )
        self._thread.start()

    def _run(self, interval_s: float) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # a bad publication keeps the last good features
                logging.getLogger(__name__).exception("Online features: reload failed")
            self._stop.wait(interval_s)

    def stop(self) -> None:
        """Stops the reload thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def refresh(self) -> bool:
        """Reloads when ``published.json`` names other table versions; True if it did."""
        marker = self.repo / PUBLISHED
        if not marker.exists():
            return False
        published = json.loads(marker.read_text())
        if self.published is not None and published == self.published:
            return False
        rows = published_rows(self.repo, published)
        version = ",".join(f"{n}@v{t['version']}" for n, t in sorted(published["tables"].items()))
        with self._lock:
            self.rows, self.published, self.version = rows, published, version
        logging.getLogger(__name__).info("Online features %s: %d keys", version, len(rows))
        return True

    def get(self, key: str) -> dict[str, Any] | None:
        """The published features of one key (None if unknown)."""
        return self.rows.get(key)

    def enrich(
        self, records: list[dict], columns: tuple[str, ...], mark: str | None = None
    ) -> list[dict]:
        """Records with their missing ``columns`` looked up by ``page_id``.

        A record that carries none of ``columns`` needs the store; one that carries some
        is scored as sent (request-time fields win over stored ones). Unknown keys raise
        ``UnknownKeys`` naming them. ``mark``: a key set to the store's version on each
        completed record. Before anything is published there is no store to look in:
        records are scored as sent (``/ready`` says so).
        """
        if self.published is None:
            return records
        rows, out, unknown = self.rows, [], []
        version = {mark: self.version} if mark else {}
        for record in records:
            if any(record.get(c) is not None for c in columns):
                out.append(record)
                continue
            stored = rows.get(record.get(KEY))
            if stored is None:
                unknown.append(str(record.get(KEY)))
                continue
            sent = {k: v for k, v in record.items() if v is not None}
            out.append({**stored, **sent, **version})
        if unknown:
            raise UnknownKeys(unknown)
        return out

    def stale(self) -> str | None:
        """Why the online store is older than the offline tables, or None when it is current."""
        return staleness(self.published, self.tables)


def staleness(published: dict[str, Any] | None, tables: dict[str, str]) -> str | None:
    """Why the online store (``published``) is older than the offline Delta tables (name →
    path), or None when it holds every table's latest version."""
    if published is None:
        return "no feature table has been published to the online store yet"
    behind = []
    for name, path in tables.items():
        latest = delta.latest_version(path)
        served = published["tables"].get(name, {}).get("version")
        if latest is not None and (served is None or latest > served):
            behind.append(f"{name} (online v{served}, offline v{latest})")
    return f"online store older than the offline tables: {', '.join(behind)}" if behind else None
