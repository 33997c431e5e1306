"""ManagedMergeTableDataset: the exact MERGE it sends, Spark's own parser and analyser on
it, and the merge semantics of its clause plan run on a real Delta table with delta-rs.

Delta on Spark cannot run here (its JARs come only from Maven), so the statement runs
against a Parquet table: Spark parses and analyses it (columns, aliases, ``*``), then
refuses MERGE for a non-Delta table, which is the proof that the text is valid SQL.
"""

from __future__ import annotations

import uuid

import pandas as pd
import pyarrow as pa
import pytest
import yaml
from deltalake import DeltaTable, write_deltalake
from kedro.io import DataCatalog
from kedro.io.core import DatasetError

from marvel_mlops.datasets import ManagedMergeTableDataset
from marvel_mlops.datasets.managed_merge import (
    MergePlan,
    SqlDialect,
    merge_statement,
    plan_merge,
    source_view,
)

TARGET = "`cat`.`sch`.`train_set`"
COLUMNS = ["page_id", "name", "alive", "update_timestamp_utc"]
DATAFUSION = SqlDialect(
    quote=lambda name: '"' + name.replace('"', '""') + '"',
    null_safe_equal="({left} IS NOT DISTINCT FROM {right})",
)


def _plan(delete_missing: bool = True, timestamps=("update_timestamp_utc",)) -> MergePlan:
    return plan_merge(COLUMNS, COLUMNS, ["page_id"], timestamps, delete_missing)


def test_merge_statement_is_one_exact_statement():
    assert merge_statement(TARGET, "v", _plan()) == (
        "MERGE WITH SCHEMA EVOLUTION INTO `cat`.`sch`.`train_set` AS t\n"
        "USING `v` AS s\n"
        "ON t.`page_id` <=> s.`page_id`\n"
        "WHEN MATCHED AND NOT (t.`name` <=> s.`name` AND t.`alive` <=> s.`alive`)"
        " THEN UPDATE SET *\n"
        "WHEN NOT MATCHED THEN INSERT *\n"
        "WHEN NOT MATCHED BY SOURCE THEN DELETE"
    )


def test_delete_missing_false_drops_the_delete_clause_and_timestamps_are_configurable():
    columns = ["deployment_id", "model_version", "deployed_at_utc"]
    plan = plan_merge(columns, columns, ["deployment_id"], ["deployed_at_utc"], False)
    assert merge_statement("`c`.`s`.`deployments`", "v", plan).splitlines()[3:] == [
        "WHEN MATCHED AND NOT (t.`model_version` <=> s.`model_version`) THEN UPDATE SET *",
        "WHEN NOT MATCHED THEN INSERT *",
    ]


def test_composite_keys_are_all_null_safe_and_odd_names_are_quoted():
    plan = plan_merge(["k1", "k`2", "v x"], ["k1", "k`2", "v x"], ["k1", "k`2"], [], True)
    sql = merge_statement(TARGET, "v", plan)
    assert "ON t.`k1` <=> s.`k1` AND t.`k``2` <=> s.`k``2`\n" in sql
    assert "WHEN MATCHED AND NOT (t.`v x` <=> s.`v x`) THEN UPDATE SET *" in sql


def test_columns_new_in_the_data_update_every_matched_row_and_keys_only_never_update():
    evolved = plan_merge([*COLUMNS, "origin"], COLUMNS, ["page_id"], ["update_timestamp_utc"], True)
    assert "WHEN MATCHED THEN UPDATE SET *" in merge_statement(TARGET, "v", evolved)
    keys_only = plan_merge(["page_id"], ["page_id"], ["page_id"], [], True)
    assert "WHEN MATCHED" not in merge_statement(TARGET, "v", keys_only)


@pytest.mark.parametrize(
    ("save_args", "field"),
    [
        ({"mode": "upsert", "keys": ["page_id"]}, "save_args.mode"),
        ({"mode": "merge"}, "save_args.keys"),
        ({"mode": "merge", "keys": ["page_id"], "delete_missing": "no"}, "delete_missing"),
        ({"mode": "merge", "keys": [1]}, "save_args.keys"),
        ({"mode": "merge", "keys": ["page_id"], "primary_key": "x"}, "primary_key"),
        ({"mode": "overwrite", "predicate": "alive = 1"}, "save_args.predicate"),
    ],
)
def test_bad_save_args_are_refused_naming_the_field(save_args, field):
    with pytest.raises(DatasetError, match=field):
        ManagedMergeTableDataset(table="t", catalog="c", database="s", save_args=save_args)


CATALOG_ENTRIES = """
"{table}_set@spark":
  type: marvel_mlops.datasets.ManagedMergeTableDataset
  catalog: dev
  database: marvel
  table: "{table}_set"
  dataframe_type: spark
  save_args: {mode: merge, keys: [page_id]}
deployments:
  type: marvel_mlops.datasets.ManagedMergeTableDataset
  catalog: dev
  database: marvel
  table: deployments
  dataframe_type: pandas
  save_args:
    mode: merge
    keys: [deployment_id]
    delete_missing: false
    timestamp_columns: [deployed_at_utc]
"""


def test_catalog_entries_with_the_local_save_args_build():
    catalog = DataCatalog.from_config(yaml.safe_load(CATALOG_ENTRIES))
    train = catalog.get("train_set@spark")._describe()
    assert (train["table"], train["write_mode"], train["save_args"]["keys"]) == (
        "train_set",
        "merge",
        ("page_id",),
    )
    deployments = catalog.get("deployments")._describe()["save_args"]
    assert deployments["delete_missing"] is False
    assert deployments["timestamp_columns"] == ("deployed_at_utc",)


# --- the real save path on a real local Spark session -------------------------------


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "page_id": ["a", "b"],
            "name": ["A", None],
            "alive": [1, 0],
            "update_timestamp_utc": pd.Timestamp("2024-01-01", tz="UTC"),
        }
    )


@pytest.fixture
def parquet_table(spark, tmp_path):
    """A non-Delta table ``spark_catalog.default.<unique>`` with the frame's columns."""
    name = f"merge_target_{uuid.uuid4().hex[:8]}"
    spark.createDataFrame(_frame()).write.format("parquet").save(str(tmp_path / name))
    spark.sql(f"CREATE TABLE default.{name} USING parquet LOCATION '{tmp_path / name}'")
    yield name
    spark.sql(f"DROP TABLE IF EXISTS default.{name}")


def _dataset(table: str, dataframe_type: str, **save_args) -> ManagedMergeTableDataset:
    return ManagedMergeTableDataset(
        table=table,
        catalog="spark_catalog",
        database="default",
        dataframe_type=dataframe_type,
        save_args={"mode": "merge", "keys": ["page_id"], **save_args},
    )


def _temp_views(spark) -> list[str]:
    return [t.name for t in spark.catalog.listTables() if t.isTemporary]


@pytest.mark.parametrize(("dataframe_type", "delete_missing"), [("spark", True), ("pandas", False)])
def test_statement_passes_sparks_parser_and_analyser(
    spark, parquet_table, dataframe_type, delete_missing
):
    data = _frame() if dataframe_type == "pandas" else spark.createDataFrame(_frame())
    dataset = _dataset(parquet_table, dataframe_type, delete_missing=delete_missing)
    with pytest.raises(DatasetError) as caught:
        dataset.save(data)
    cause = caught.value.__cause__
    # Parsed and analysed (columns, aliases and * resolved); only refused for not being Delta.
    assert cause.getCondition() == "UNSUPPORTED_FEATURE.TABLE_OPERATION", cause
    assert "MERGE INTO TABLE" in str(cause)
    assert not [v for v in _temp_views(spark) if v.startswith("kedro_merge_source")]


def test_a_wrong_column_fails_in_analysis_so_the_check_above_means_something(spark, parquet_table):
    spark.createDataFrame(_frame()).createOrReplaceTempView("merge_src")
    bad = MergePlan(keys=("page_id",), compared=("nope",), new_columns=(), delete_missing=True)
    with pytest.raises(Exception) as caught:
        spark.sql(merge_statement(f"`spark_catalog`.`default`.`{parquet_table}`", "merge_src", bad))
    assert caught.value.getCondition().startswith("UNRESOLVED_COLUMN")


def test_the_temporary_view_holds_exactly_the_source_rows_and_is_dropped(spark):
    data = spark.createDataFrame(_frame())
    with source_view(data, "train-set") as view:
        assert sorted(map(tuple, spark.table(view).collect())) == sorted(map(tuple, data.collect()))
    assert view not in _temp_views(spark)


def test_keys_missing_from_the_data_are_named(spark):
    dataset = _dataset("whatever", "spark", keys=["page_id", "universe"])
    with pytest.raises(DatasetError, match=r"save_args.keys \['universe'\]"):
        dataset.save(spark.createDataFrame(_frame()))


def test_an_absent_table_is_created_as_delta_from_the_data(spark):
    dataset = _dataset(f"absent_{uuid.uuid4().hex[:8]}", "spark")
    assert not dataset.exists()
    with pytest.raises(DatasetError) as caught:
        dataset.save(spark.createDataFrame(_frame()))
    # The create path writes format "delta": here that source is missing (no Maven).
    assert "delta" in str(caught.value.__cause__).lower()
    assert "DATA_SOURCE_NOT_FOUND" in str(caught.value.__cause__)


# --- semantics: the same clause plan run by delta-rs on a real Delta table -----------


def _rows(rows: list[tuple], stamp: str) -> pa.Table:
    frame = pd.DataFrame(rows, columns=["page_id", "name", "alive"])
    frame["update_timestamp_utc"] = pd.Timestamp(stamp, tz="UTC")
    return pa.Table.from_pandas(frame, preserve_index=False)


def _merge_with_delta_rs(path: str, data: pa.Table, delete_missing: bool) -> int:
    """Runs the dataset's clause plan with delta-rs; returns the new table version."""
    table = DeltaTable(path)
    target_columns = [f.name for f in table.schema().fields]
    plan = plan_merge(data.column_names, target_columns, ["page_id"], COLUMNS[3:], delete_missing)
    merger = table.merge(data, plan.on(DATAFUSION), source_alias="s", target_alias="t")
    for clause in plan.clauses(DATAFUSION):
        merger = getattr(merger, f"when_{clause.kind}")(predicate=clause.condition)
    merger.execute()
    return DeltaTable(path).version()


def _state(path: str) -> dict[str, tuple]:
    frame = DeltaTable(path).to_pandas().set_index("page_id").sort_index()
    return {k: (r["name"], r["alive"], r["update_timestamp_utc"].year) for k, r in frame.iterrows()}


@pytest.fixture
def delta_path(tmp_path) -> str:
    path = str(tmp_path / "train_set")
    old = [("a", "A", 1), ("b", None, 0), ("c", "C", 1), ("e", None, 1)]
    write_deltalake(path, _rows(old, "2024-01-01"))
    return path


def test_departed_rows_leave_and_unchanged_rows_keep_their_timestamp(delta_path):
    new = [("a", "A", 1), ("b", "B", 0), ("d", "D", 0), ("e", None, 1)]
    _merge_with_delta_rs(delta_path, _rows(new, "2025-01-01"), delete_missing=True)
    # a and e unchanged (e's None equals None): they keep 2024. b changed from None to
    # "B" (a plain = would miss it): 2025. c left the source, d is new.
    assert _state(delta_path) == {
        "a": ("A", 1, 2024),
        "b": ("B", 0, 2025),
        "d": ("D", 0, 2025),
        "e": (None, 1, 2024),
    }
    before, version = _state(delta_path), DeltaTable(delta_path).version()
    # An identical rerun (only the timestamps differ) touches no row: no new version.
    assert _merge_with_delta_rs(delta_path, _rows(new, "2026-01-01"), True) == version
    assert _state(delta_path) == before


def test_delete_missing_false_keeps_departed_rows(delta_path):
    _merge_with_delta_rs(delta_path, _rows([("a", "A", 0)], "2025-01-01"), delete_missing=False)
    assert _state(delta_path) == {
        "a": ("A", 0, 2025),
        "b": (None, 0, 2024),
        "c": ("C", 1, 2024),
        "e": (None, 1, 2024),
    }
