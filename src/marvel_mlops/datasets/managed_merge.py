"""Unity Catalog managed tables with the local Delta datasets' ``merge`` semantics.

``databricks.ManagedTableDataset`` (kedro-datasets 9.6) upserts with ``MERGE ... WHEN
MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *``: rows that left the source
stay, and every matched row is rewritten (its ``update_timestamp_utc`` changes on each
run). ``ManagedMergeTableDataset`` takes the same ``save_args`` as the local
``SparkDeltaTableDataset`` / ``PandasDeltaTableDataset`` and saves a merge as ONE
Databricks SQL statement (atomic: a failure leaves the table at its last good version)::

    MERGE WITH SCHEMA EVOLUTION INTO `cat`.`sch`.`tbl` AS t
    USING `<temporary view of the data>` AS s
    ON t.`key` <=> s.`key`
    WHEN MATCHED AND NOT (t.`a` <=> s.`a` AND t.`b` <=> s.`b`) THEN UPDATE SET *
    WHEN NOT MATCHED THEN INSERT *
    WHEN NOT MATCHED BY SOURCE THEN DELETE        -- unless delete_missing: false

Key columns and ``timestamp_columns`` are left out of the change test, so a row whose
other values are unchanged is not rewritten and keeps its timestamps. ``WITH SCHEMA
EVOLUTION`` (Databricks Runtime 15.2+, serverless) mirrors the local ``merge_schema``:
columns new in the data are added to the table, and then every matched row is updated
so they get filled. A table that does not exist yet is created from the data. Only
``createOrReplaceTempView`` and ``spark.sql`` are used: it works on Spark Connect
(serverless) as on classic Spark.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from kedro.io.core import DatasetError, Version
from kedro_datasets.databricks import ManagedTableDataset
from kedro_datasets.databricks.managed_table_dataset import ManagedTable

from marvel_mlops.adapters.delta import DEFAULT_TIMESTAMP_COLUMNS
from marvel_mlops.adapters.spark import get_spark
from marvel_mlops.datasets._delta_args import validated_save_args

TARGET_ALIAS = "t"
SOURCE_ALIAS = "s"

ClauseKind = Literal["matched_update_all", "not_matched_insert_all", "not_matched_by_source_delete"]


def quote_identifier(name: str) -> str:
    """A Spark / Databricks SQL identifier in backticks (embedded backticks doubled)."""
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class SqlDialect:
    """How one SQL engine quotes a column and writes null-safe equality."""

    quote: Callable[[str], str]
    null_safe_equal: str  # a format string with {left} and {right}

    def column(self, alias: str, name: str) -> str:
        """``alias.column`` with the column quoted."""
        return f"{alias}.{self.quote(name)}"

    def equal(self, name: str) -> str:
        """Target and source values of ``name`` compared null-safe."""
        return self.null_safe_equal.format(
            left=self.column(TARGET_ALIAS, name), right=self.column(SOURCE_ALIAS, name)
        )


SPARK_SQL = SqlDialect(quote=quote_identifier, null_safe_equal="{left} <=> {right}")


@dataclass(frozen=True)
class MergeClause:
    """One WHEN clause; ``kind`` names the action as delta-rs' ``TableMerger.when_<kind>``."""

    kind: ClauseKind
    condition: str | None = None


@dataclass(frozen=True)
class MergePlan:
    """What a merge does, independent of the engine that runs it.

    ``compared`` are the columns whose change rewrites a matched row (present in table
    and data, neither key nor timestamp); ``new_columns`` are in the data only.
    """

    keys: tuple[str, ...]
    compared: tuple[str, ...]
    new_columns: tuple[str, ...]
    delete_missing: bool

    def on(self, dialect: SqlDialect = SPARK_SQL) -> str:
        """The join condition: every key equal, null-safe."""
        return " AND ".join(dialect.equal(k) for k in self.keys)

    def changed(self, dialect: SqlDialect = SPARK_SQL) -> str | None:
        """A matched row's update condition; ``None`` updates every matched row."""
        if self.new_columns or not self.compared:
            return None
        return "NOT (" + " AND ".join(dialect.equal(c) for c in self.compared) + ")"

    def clauses(self, dialect: SqlDialect = SPARK_SQL) -> list[MergeClause]:
        """The WHEN clauses, in order (no update clause when nothing can change)."""
        result = []
        if self.compared or self.new_columns:
            result.append(MergeClause("matched_update_all", self.changed(dialect)))
        result.append(MergeClause("not_matched_insert_all"))
        if self.delete_missing:
            result.append(MergeClause("not_matched_by_source_delete"))
        return result


def plan_merge(
    source_columns: Sequence[str],
    target_columns: Sequence[str],
    keys: Sequence[str],
    timestamp_columns: Sequence[str],
    delete_missing: bool,
) -> MergePlan:
    """The merge of data with ``source_columns`` into a table with ``target_columns``."""
    skipped = set(keys) | set(timestamp_columns)
    target = set(target_columns)
    return MergePlan(
        keys=tuple(keys),
        compared=tuple(c for c in source_columns if c in target and c not in skipped),
        new_columns=tuple(c for c in source_columns if c not in target),
        delete_missing=delete_missing,
    )


_SQL_ACTIONS: dict[ClauseKind, tuple[str, str]] = {
    "matched_update_all": ("WHEN MATCHED", "UPDATE SET *"),
    "not_matched_insert_all": ("WHEN NOT MATCHED", "INSERT *"),
    "not_matched_by_source_delete": ("WHEN NOT MATCHED BY SOURCE", "DELETE"),
}


def clause_sql(clause: MergeClause) -> str:
    """One WHEN clause in Databricks SQL."""
    when, action = _SQL_ACTIONS[clause.kind]
    condition = f" AND {clause.condition}" if clause.condition else ""
    return f"{when}{condition} THEN {action}"


def merge_statement(table: str, source_view: str, plan: MergePlan) -> str:
    """The single ``MERGE`` statement for ``plan`` (``table`` already quoted)."""
    lines = [
        f"MERGE WITH SCHEMA EVOLUTION INTO {table} AS {TARGET_ALIAS}",
        f"USING {quote_identifier(source_view)} AS {SOURCE_ALIAS}",
        f"ON {plan.on(SPARK_SQL)}",
        *(clause_sql(c) for c in plan.clauses(SPARK_SQL)),
    ]
    return "\n".join(lines)


@contextmanager
def source_view(data: Any, table: str) -> Iterator[str]:
    """Registers ``data`` as a uniquely named temporary view, dropped on exit."""
    safe = re.sub(r"\W", "_", table)
    name = f"kedro_merge_source_{safe}_{uuid.uuid4().hex[:12]}"
    data.createOrReplaceTempView(name)
    try:
        yield name
    finally:
        data.sparkSession.catalog.dropTempView(name)


@dataclass(frozen=True)
class MergeableManagedTable(ManagedTable):
    """A managed table definition whose write modes are the local datasets' modes."""

    _VALID_WRITE_MODES: ClassVar[list[str]] = field(default=["overwrite", "append", "merge"])


def _column_list(value: Any, field_name: str, name: str) -> tuple[str, ...]:
    """A column name or list of names as a tuple; a clear error naming the field."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise DatasetError(f"{name}: save_args.{field_name} must be a column name or a list")
    return tuple(names)


def _merge_save_args(save_args: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """The local datasets' save_args, validated, with list fields normalised."""
    args = validated_save_args(save_args, name)
    if args.get("predicate") is not None:
        raise DatasetError(f"{name}: save_args.predicate is not supported on Unity Catalog yet")
    args["keys"] = _column_list(args.get("keys", ()), "keys", name)
    args["timestamp_columns"] = _column_list(
        args.get("timestamp_columns", DEFAULT_TIMESTAMP_COLUMNS), "timestamp_columns", name
    )
    if args.get("partition_by") is not None:
        args["partition_by"] = list(_column_list(args["partition_by"], "partition_by", name))
    args.setdefault("delete_missing", True)
    if not isinstance(args["delete_missing"], bool):
        raise DatasetError(f"{name}: save_args.delete_missing must be true or false")
    return args


class ManagedMergeTableDataset(ManagedTableDataset):
    """A Unity Catalog managed Delta table saved with the local datasets' ``save_args``.

    Example (``conf/databricks``; the ``save_args`` block is the ``conf/base`` one)::

        deployments:
          type: marvel_mlops.datasets.ManagedMergeTableDataset
          catalog: ${runtime_params:catalog,${globals:catalog}}
          database: ${globals:schema}
          table: deployments
          dataframe_type: pandas
          save_args:
            mode: merge
            keys: [deployment_id]
            delete_missing: false
            timestamp_columns: [deployed_at_utc]

    ``save_args``: ``mode`` (``overwrite`` default, ``append`` or ``merge``), ``keys``
    (merge), ``delete_missing`` (merge, default true), ``timestamp_columns`` (merge,
    default ``[update_timestamp_utc]``) and ``partition_by`` (when the table is created);
    ``predicate`` (partial overwrite) is refused. The statement runs in the data's own
    Spark session, where its temporary view lives.
    Loading is ``ManagedTableDataset``'s (Spark or pandas by ``dataframe_type``).
    """

    def __init__(  # noqa: PLR0913
        self,
        *,
        table: str,
        catalog: str | None = None,
        database: str = "default",
        dataframe_type: str = "spark",
        save_args: dict[str, Any] | None = None,
        version: Version | None = None,
        schema: dict[str, Any] | None = None,
        owner_group: str | None = None,
        optional: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        name = f"ManagedMergeTableDataset({catalog}.{database}.{table})"
        self._optional = optional
        self._save_args = _merge_save_args(save_args, name)
        self._name = name
        super().__init__(
            table=table,
            catalog=catalog,
            database=database,
            write_mode=self._save_args["mode"],
            dataframe_type=dataframe_type,
            version=version,
            schema=schema,
            partition_columns=self._save_args.get("partition_by"),
            owner_group=owner_group,
            metadata=metadata,
        )

    def _create_table(self, **kwargs: Any) -> MergeableManagedTable:  # type: ignore[override]
        """The table definition, accepting ``merge`` as a write mode."""
        return MergeableManagedTable(**kwargs)

    def _full_name(self) -> str:
        return self._table.full_table_location() or ""

    def _table_exists(self, spark: Any) -> bool:
        """True when the table exists (no ``USE CATALOG`` side effect, unlike the base)."""
        return bool(spark.catalog.tableExists(self._full_name()))

    def _exists(self) -> bool:
        return self._table_exists(get_spark())

    def load(self) -> Any:
        """The table; ``None`` when it does not exist yet and ``optional: true`` (inputs
        such as ``deployments`` before the first deployment)."""
        if self._optional and not self._exists():
            return None
        return super().load()

    def _check_keys(self, columns: Sequence[str]) -> None:
        missing = [k for k in self._save_args["keys"] if k not in columns]
        if missing:
            raise DatasetError(
                f"{self._name}: save_args.keys {missing} are not columns of the data "
                f"(columns: {list(columns)})"
            )

    def _create(self, data: Any) -> None:
        """Creates the table from ``data``; fails if it appeared meanwhile (no duplicates)."""
        # "error" (= errorifexists): the Spark Connect client accepts only this spelling.
        writer = data.write.format("delta").mode("error")
        if self._table.partition_columns:
            writer = writer.partitionBy(*self._table.partition_columns)
        writer.saveAsTable(self._full_name())

    def _save_merge(self, data: Any) -> None:
        """Merges ``data`` into the table with one ``MERGE`` statement (see module doc)."""
        spark = data.sparkSession
        self._check_keys(data.columns)
        if not self._table_exists(spark):
            self._create(data)
            return
        plan = plan_merge(
            data.columns,
            spark.table(self._full_name()).columns,
            self._save_args["keys"],
            self._save_args["timestamp_columns"],
            self._save_args["delete_missing"],
        )
        with source_view(data, self._table.table) as view:
            spark.sql(merge_statement(self._full_name(), view, plan))

    def _describe(self) -> dict[str, Any]:
        description = super()._describe()
        description.pop("primary_key", None)
        description["save_args"] = self._save_args
        return description
