"""The inference log: real Delta tables, micro-batches, bounded memory, full flush."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pyarrow as pa

from marvel_mlops.adapters import delta
from marvel_mlops.data.schema import INFERENCE_LOG_COLUMNS
from marvel_mlops.serving.app import create_app
from marvel_mlops.serving.inference_log import (
    INFERENCE_LOG_SCHEMA,
    InferenceLogWriter,
    delta_appender,
    delta_maintainer,
    log_row,
)
from tests.serving.conftest import LiveServer, make_settings, random_records, read_log


def rows(n: int, start: int = 0) -> list[tuple]:
    return [
        log_row(f"r{i}", i, time.time(), {"page_id": f"p{i}", "height_m": 1.5}, 0.5, 1, "1",
                "champion", True, 0.2)
        for i in range(start, start + n)
    ]  # fmt: skip


def test_writer_appends_micro_batches_with_the_contract_schema(tmp_path):
    path = tmp_path / "inference_log"
    writer = InferenceLogWriter(delta_appender(str(path)), batch_size=100, flush_interval_s=0.05)
    writer.start()
    for start in range(0, 1234, 50):
        writer.submit(rows(min(50, 1234 - start), start))
        time.sleep(0.01)
    stats = writer.close()
    table = delta.open_table(path).to_pyarrow_table()
    assert table.num_rows == 1234 == stats.written and stats.dropped == 0
    assert stats.commits > 1  # micro-batches, not one write at the end
    assert table.schema.names == list(INFERENCE_LOG_COLUMNS)
    assert table.schema.field("timestamp_utc").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("label").type == INFERENCE_LOG_SCHEMA.field("label").type
    assert sorted(table.column("record_index").to_pylist()) == list(range(1234))


def test_slow_storage_never_blocks_submit_and_memory_stays_bounded(tmp_path):
    path = tmp_path / "inference_log"
    gate = threading.Event()
    append = delta_appender(str(path))

    def slow_append(table):
        gate.wait()  # storage stalls until the test opens the gate
        append(table)

    writer = InferenceLogWriter(slow_append, batch_size=10, flush_interval_s=0.01,
                                queue_max_records=500)  # fmt: skip
    writer.start()
    started = time.perf_counter()
    accepted = sum(writer.submit(rows(10, i * 10)) for i in range(200))
    assert time.perf_counter() - started < 1.0  # 200 submits while storage is stuck
    assert writer.queued <= 500
    assert writer.stats.dropped == 2000 - accepted > 0
    gate.set()
    stats = writer.close()
    assert stats.written == accepted == delta.open_table(path).to_pyarrow_table().num_rows
    assert stats.submitted == stats.written + stats.dropped


def test_failed_writes_are_retried_without_losing_rows(tmp_path):
    path = tmp_path / "inference_log"
    path.write_text("not a Delta table")  # the first appends fail for real

    writer = InferenceLogWriter(delta_appender(str(path)), batch_size=10, flush_interval_s=0.05)
    writer.start()
    writer.submit(rows(25))
    deadline = time.monotonic() + 30
    while writer.stats.write_errors == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    path.unlink()  # storage recovers
    writer.submit(rows(5, 25))
    stats = writer.close()
    assert stats.written == 30 and stats.dropped == 0
    assert sorted(read_log(path)["record_index"]) == list(range(30))


def test_records_sent_equal_records_logged_after_graceful_shutdown(store, registry_uri, tmp_path):
    log = tmp_path / "inference_log"
    app = create_app(make_settings(store, log, compact_every_commits=3))
    records = random_records(400, seed=31)
    batches = [records[i : i + 1 + i % 7] for i in range(0, 400, 8)]
    sent = sum(len(b) for b in batches)
    started = time.time()
    with LiveServer(app) as live:

        def post(batch):
            with httpx.Client(base_url=live.url, timeout=30) as http:
                return http.post("/invocations", json={"dataframe_records": batch}).status_code

        with ThreadPoolExecutor(4) as pool:
            assert set(pool.map(post, batches)) == {200}
    logged = read_log(log)
    assert len(logged) == sent
    assert logged["request_id"].nunique() == len(batches)
    assert list(logged.columns) == list(INFERENCE_LOG_COLUMNS)
    assert (logged["latency_ms"] > 0).all() and logged["served"].all()
    assert logged["timestamp_utc"].min().timestamp() >= started - 1
    assert set(logged["page_id"]) == {r["page_id"] for b in batches for r in b}
    # compacted and checkpointed on the way, without losing or duplicating a row
    assert (log / "_delta_log" / "_last_checkpoint").exists()
    assert logged[["request_id", "record_index"]].duplicated().sum() == 0


def test_writer_compacts_and_checkpoints_between_writes(tmp_path):
    path = tmp_path / "inference_log"
    writer = InferenceLogWriter(delta_appender(str(path)), batch_size=10, flush_interval_s=0.01,
                                maintain=delta_maintainer(str(path)),
                                compact_every_commits=5)  # fmt: skip
    writer.start()
    for start in range(0, 300, 10):
        writer.submit(rows(10, start))
        time.sleep(0.03)
    stats = writer.close()
    table = delta.open_table(path)
    assert stats.written == 300 == table.to_pyarrow_table().num_rows
    assert stats.compactions >= 2 and stats.compaction_errors == 0
    assert stats.commits > 10  # many small appends ...
    assert len(table.file_uris()) < stats.commits / 2  # ... but few files in the table
    assert (path / "_delta_log" / "_last_checkpoint").exists()
    assert sorted(table.to_pyarrow_table().column("record_index").to_pylist()) == list(range(300))


def test_the_appender_keeps_its_table_open_across_compaction_and_removal(tmp_path):
    """Appends through the kept table land after another writer compacted the table, and
    a table removed under the appender is created again rather than left without a log."""
    import shutil

    from deltalake import DeltaTable

    from marvel_mlops.serving.inference_log import delta_maintainer, rows_to_table

    path = tmp_path / "inference_log"
    append = delta_appender(str(path))
    batch = [log_row("r", i, 1.7e9, {"page_id": f"p{i}"}, 0.5, 1, "1", "champion", True, 1.0)
             for i in range(3)]  # fmt: skip
    for _ in range(3):
        append(rows_to_table(batch))
    delta_maintainer(str(path))()
    append(rows_to_table(batch))
    assert DeltaTable(str(path)).to_pyarrow_table().num_rows == 12
    shutil.rmtree(path)
    append(rows_to_table(batch))
    table = DeltaTable(str(path))
    assert table.version() == 0 and table.to_pyarrow_table().num_rows == 3
