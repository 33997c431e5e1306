"""The ``inference_log`` writer: a bounded in-memory queue drained into Delta by a thread.

The request path only appends tuples to a deque (no I/O, no Arrow). A background thread
writes what is waiting as one Delta append per micro-batch: when ``batch_size`` rows
wait or every ``flush_interval_s``. Memory is bounded by ``queue_max_records``: beyond
it rows are dropped and counted (never blocking a request). ``close()`` writes
everything still queued, so after a graceful shutdown records sent = records logged.

Micro-batches make small files. Every ``compact_every_commits`` commits or
``compact_interval_s`` seconds, the same thread compacts the table and writes a checkpoint
between two writes (delta-rs ``optimize.compact()`` and ``create_checkpoint()``): requests
keep queueing meanwhile, nothing waits for it. Old files stay on disk until a VACUUM.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from marvel_mlops.data.schema import FEATURE_COLUMNS, INFERENCE_LOG_COLUMNS, arrow_schema

logger = logging.getLogger(__name__)

INFERENCE_LOG_SCHEMA = arrow_schema(INFERENCE_LOG_COLUMNS)
"""Arrow schema of ``inference_log`` (column contract: ``data.schema.INFERENCE_LOG_COLUMNS``)."""

COLUMNS = tuple(INFERENCE_LOG_COLUMNS)
FEATURE_VERSION_KEY = "__feature_version"
"""Set by the feature lookup on records it completed (clients cannot send it: strict schema)."""
_TIMESTAMP = COLUMNS.index("timestamp_utc")


def rows_to_table(rows: list[tuple]) -> pa.Table:
    """Row tuples in ``COLUMNS`` order (timestamp as epoch seconds) → an Arrow table."""
    arrays = []
    for i, field in enumerate(INFERENCE_LOG_SCHEMA):
        values = [row[i] for row in rows]
        if i == _TIMESTAMP:
            values = [round(v * 1_000_000) for v in values]
            arrays.append(pa.array(values, pa.int64()).cast(field.type))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.Table.from_arrays(arrays, schema=INFERENCE_LOG_SCHEMA)


@dataclass
class LogStats:
    """Counters a person (or /metrics) can check."""

    submitted: int = 0
    written: int = 0
    dropped: int = 0
    write_errors: int = 0
    commits: int = 0
    compactions: int = 0
    compaction_errors: int = 0


def delta_appender(path: str) -> Callable[[pa.Table], None]:
    """Appends a table to the Delta table at ``path`` (one commit).

    The opened table is kept between appends (each commit brings it up to date), so an
    append does not list and replay the Delta log again: about 5x less CPU per commit.
    After a failed append the table is opened afresh.
    """
    from marvel_mlops.adapters import delta

    held: list[Any] = []
    log = None if "://" in path else Path(path) / "_delta_log"

    def append(table: pa.Table) -> None:
        if held and log is not None and not log.is_dir():  # removed under us: start over
            held.clear()
        try:
            if held:
                delta.append_to(held[0], table)
            else:
                delta.write_table(path, table, mode="append")
                held.append(delta.open_table(path))
        except Exception:
            held.clear()
            raise

    return append


def delta_maintainer(path: str) -> Callable[[], None]:
    """Compacts the Delta table at ``path`` into bigger files, then writes a checkpoint."""

    def maintain() -> None:
        from deltalake import DeltaTable

        table = DeltaTable(str(path))
        table.optimize.compact()
        table.update_incremental()
        table.create_checkpoint()

    return maintain


class InferenceLogWriter:
    """Bounded, non-blocking, micro-batched writer (see module docstring)."""

    def __init__(
        self,
        append: Callable[[pa.Table], None],
        batch_size: int = 500,
        flush_interval_s: float = 1.0,
        queue_max_records: int = 100_000,
        retry_limit: int = 5,
        maintain: Callable[[], None] | None = None,
        compact_every_commits: int = 0,
        compact_interval_s: float = 0.0,
    ) -> None:
        self._append = append
        self._maintain = maintain
        self.compact_every_commits = compact_every_commits
        self.compact_interval_s = compact_interval_s
        self._maintained = (0, time.monotonic())  # commits and time of the last maintenance
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.queue_max_records = queue_max_records
        self.retry_limit = retry_limit
        self.stats = LogStats()
        self._queue: deque[tuple] = deque()
        self._wake = threading.Condition(threading.Lock())
        self._closing = False
        self._thread: threading.Thread | None = None

    @property
    def queued(self) -> int:
        """Rows waiting to be written."""
        return len(self._queue)

    def submit(self, rows: Iterable[tuple]) -> int:
        """Queues rows without waiting; returns how many were accepted (the rest dropped)."""
        rows = list(rows)
        with self._wake:
            room = self.queue_max_records - len(self._queue)
            accepted = rows if len(rows) <= room else rows[: max(room, 0)]
            self._queue.extend(accepted)
            self.stats.submitted += len(rows)
            self.stats.dropped += len(rows) - len(accepted)
            if len(self._queue) >= self.batch_size:
                self._wake.notify()
        return len(accepted)

    def start(self) -> None:
        """Starts the background writer thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="inference-log", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        failures = 0
        while True:
            with self._wake:
                if not self._closing and len(self._queue) < self.batch_size:
                    self._wake.wait(self.flush_interval_s)
                closing = self._closing
                batch = [self._queue.popleft() for _ in range(len(self._queue))]
            if batch:
                failures = 0 if self._write(batch) else failures + 1
                if not failures:
                    self._maybe_maintain()
                if failures and (closing and failures >= self.retry_limit):
                    return
                if failures:
                    time.sleep(min(self.flush_interval_s * failures, 5.0))
            elif closing:
                return

    def _write(self, batch: list[tuple]) -> bool:
        try:
            self._append(rows_to_table(batch))
        except Exception as error:  # storage trouble must not kill the writer
            self.stats.write_errors += 1
            logger.warning("inference_log: write of %d rows failed: %s", len(batch), error)
            with self._wake:  # put them back in front, as far as the bound allows
                room = max(self.queue_max_records - len(self._queue), 0)
                self.stats.dropped += max(len(batch) - room, 0)
                self._queue.extendleft(reversed(batch[:room]))
            return False
        self.stats.written += len(batch)
        self.stats.commits += 1
        return True

    def _maybe_maintain(self) -> None:
        """Compacts and checkpoints when enough commits or time have passed (never raises)."""
        if self._maintain is None:
            return
        commits, at = self._maintained
        since = self.stats.commits - commits
        by_count = 0 < self.compact_every_commits <= since
        by_time = since > 0 and 0 < self.compact_interval_s <= time.monotonic() - at
        if not (by_count or by_time):
            return
        try:
            self._maintain()
            self.stats.compactions += 1
        except Exception as error:  # a concurrent writer, storage trouble: try next time
            self.stats.compaction_errors += 1
            logger.warning("inference_log: compaction failed: %s", error)
        self._maintained = (self.stats.commits, time.monotonic())

    def close(self, timeout_s: float = 60.0) -> LogStats:
        """Writes everything queued, then stops the thread; returns the final counters."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout_s)
        elif self._queue:
            self._write([self._queue.popleft() for _ in range(len(self._queue))])
        if self._queue:  # storage kept failing: say how much is lost
            logger.error("inference_log: %d rows could not be written", len(self._queue))
            self.stats.dropped += len(self._queue)
            self._queue.clear()
        logger.info(
            "inference_log closed: %d submitted, %d written in %d commits, %d dropped",
            self.stats.submitted,
            self.stats.written,
            self.stats.commits,
            self.stats.dropped,
        )
        return self.stats


def log_row(
    request_id: str,
    index: int,
    timestamp: float,
    record: dict[str, Any],
    probability: float,
    label: int,
    version: str,
    variant: str,
    served: bool,
    latency_ms: float,
) -> tuple:
    """One ``inference_log`` row tuple in ``COLUMNS`` order."""
    return (
        request_id,
        index,
        timestamp,
        record.get("page_id"),
        *map(record.get, FEATURE_COLUMNS),
        probability,
        label,
        version,
        variant,
        served,
        latency_ms,
        *_feature_origin(record),
    )


def _feature_origin(record: dict[str, Any]) -> tuple[str, str | None]:
    """(feature_source, feature_version): records completed from the online store carry
    the store's version (``serving.feature_lookup``); others came with their attributes."""
    version = record.get(FEATURE_VERSION_KEY)
    return ("request", None) if version is None else ("online_store", version)


def _check_column_order() -> None:
    head = ("request_id", "record_index", "timestamp_utc", "page_id")
    tail = (
        *("probability", "label", "model_version", "variant", "served", "latency_ms"),
        *("feature_source", "feature_version"),
    )
    expected = (*head, *FEATURE_COLUMNS, *tail)
    if expected != COLUMNS:
        raise RuntimeError(f"inference_log columns changed: {COLUMNS}; update log_row()")


_check_column_order()
