"""Delta tables on a local or object-store path, through delta-rs (no JVM, no Maven).

Every write is one atomic Delta commit, so a crash leaves the table at its last good
version. ``merge`` upserts on key columns, leaves unchanged rows (and their
``update_timestamp_utc``) untouched and, by default, deletes rows that left the
source: re-running on the same input gives the same rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

logger = logging.getLogger(__name__)

WriteMode = Literal["overwrite", "append", "merge"]
DEFAULT_TIMESTAMP_COLUMNS = ("update_timestamp_utc",)


def table_exists(path: str | Path, storage_options: dict[str, str] | None = None) -> bool:
    """True when a Delta table lives at ``path``."""
    return DeltaTable.is_deltatable(str(path), storage_options=storage_options)


def open_table(
    path: str | Path, version: int | None = None, storage_options: dict[str, str] | None = None
) -> DeltaTable | None:
    """Opens the table at its latest (or the given) version; ``None`` if it does not exist."""
    try:
        return DeltaTable(str(path), version=version, storage_options=storage_options)
    except TableNotFoundError:
        return None


def latest_version(path: str | Path, storage_options: dict[str, str] | None = None) -> int | None:
    """The table's current version, or ``None`` if there is no table."""
    table = open_table(path, storage_options=storage_options)
    return table.version() if table is not None else None


def normalise_for_delta(data: pa.Table) -> pa.Table:
    """Casts what Delta cannot store as is: timestamps to microseconds in UTC, views to strings."""
    fields = []
    for f in data.schema:
        t = f.type
        if pa.types.is_timestamp(t):
            t = pa.timestamp("us", tz="UTC")
        elif pa.types.is_large_string(t) or pa.types.is_string_view(t) or pa.types.is_null(t):
            t = pa.string()
        fields.append(pa.field(f.name, t, nullable=True))
    schema = pa.schema(fields)
    return data if schema == data.schema else data.cast(schema)


def _changed_predicate(
    columns: Sequence[str], keys: Sequence[str], timestamp_columns: Sequence[str]
) -> str:
    compared = [c for c in columns if c not in keys and c not in timestamp_columns]
    if not compared:
        return "false"
    return " OR ".join(f"(t.{c} IS DISTINCT FROM s.{c})" for c in compared)


def write_table(
    path: str | Path,
    data: pa.Table,
    *,
    mode: WriteMode = "overwrite",
    keys: Sequence[str] = (),
    delete_missing: bool = True,
    timestamp_columns: Sequence[str] = DEFAULT_TIMESTAMP_COLUMNS,
    predicate: str | None = None,
    partition_by: Sequence[str] | None = None,
    storage_options: dict[str, str] | None = None,
    commit_metadata: dict[str, str] | None = None,
) -> int:
    """Writes ``data`` as one Delta commit and returns the new table version.

    In ``merge`` mode, a matched row is rewritten only when a column other than the keys
    and ``timestamp_columns`` changed, so unchanged rows keep their timestamps.
    """
    data = normalise_for_delta(data)
    properties = CommitProperties(custom_metadata=commit_metadata) if commit_metadata else None
    existing = open_table(path, storage_options=storage_options)
    if mode == "merge" and existing is not None:
        if not keys:
            raise ValueError(f"Delta table {path}: mode 'merge' needs 'keys'")
        on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        merger = (
            existing.merge(
                data,
                on,
                source_alias="s",
                target_alias="t",
                merge_schema=True,
                commit_properties=properties,
            )
            .when_matched_update_all(
                predicate=_changed_predicate(data.column_names, keys, timestamp_columns)
            )
            .when_not_matched_insert_all()
        )
        if delete_missing:
            merger = merger.when_not_matched_by_source_delete()
        stats = merger.execute()
        logger.info(
            "Merged into %s: %s inserted, %s updated, %s deleted",
            path,
            stats["num_target_rows_inserted"],
            stats["num_target_rows_updated"],
            stats["num_target_rows_deleted"],
        )
    else:
        write_mode = "append" if mode == "append" else "overwrite"
        kwargs: dict[str, Any] = {"mode": write_mode, "storage_options": storage_options}
        if write_mode == "overwrite":
            kwargs["schema_mode"] = "overwrite" if predicate is None else None
            kwargs["predicate"] = predicate
        else:
            kwargs["schema_mode"] = "merge"
        if partition_by and existing is None:
            kwargs["partition_by"] = list(partition_by)
        write_deltalake(str(path), data, commit_properties=properties, **kwargs)
    return DeltaTable(str(path), storage_options=storage_options).version()


def append_to(table: DeltaTable, data: pa.Table) -> int:
    """Appends ``data`` to an opened table as one commit (no re-listing of its log) and
    returns the new version; ``table`` follows the commit. New columns are added."""
    write_deltalake(table, normalise_for_delta(data), mode="append", schema_mode="merge")
    return table.version()
