"""Delta datasets against real Delta tables and a real Spark session."""

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable
from kedro.io.core import DatasetError

from marvel_mlops.adapters import delta
from marvel_mlops.datasets import PandasDeltaTableDataset, SparkDeltaTableDataset


def _frame(rows, stamp):
    return pd.DataFrame(
        {
            "page_id": [r[0] for r in rows],
            "value": [r[1] for r in rows],
            "update_timestamp_utc": pd.Timestamp(stamp, tz="UTC"),
        }
    )


def test_spark_round_trip_and_one_version_per_save(spark, tmp_path):
    ds = SparkDeltaTableDataset(filepath=str(tmp_path / "t"))
    ds.save(spark.createDataFrame(_frame([("a", 1), ("b", 2)], "2024-01-01")))
    ds.save(spark.createDataFrame(_frame([("c", 3)], "2024-01-02")))
    assert DeltaTable(str(tmp_path / "t")).version() == 1
    loaded = ds.load().toPandas()
    assert loaded["page_id"].tolist() == ["c"]
    assert ds.get_loaded_version() == 1


def test_merge_keeps_unchanged_rows_untouched_and_deletes_departed(spark, tmp_path):
    ds = SparkDeltaTableDataset(
        filepath=str(tmp_path / "t"), save_args={"mode": "merge", "keys": ["page_id"]}
    )
    ds.save(spark.createDataFrame(_frame([("a", 1), ("b", 2), ("c", 3)], "2024-01-01")))
    ds.save(spark.createDataFrame(_frame([("a", 1), ("b", 20), ("d", 4)], "2025-01-01")))
    rows = ds.load().toPandas().set_index("page_id").sort_index()
    assert rows["value"].to_dict() == {"a": 1, "b": 20, "d": 4}
    stamps = rows["update_timestamp_utc"].dt.year.to_dict()
    assert stamps == {"a": 2024, "b": 2025, "d": 2025}


def test_rerunning_a_merge_with_the_same_rows_changes_nothing(spark, tmp_path):
    ds = SparkDeltaTableDataset(
        filepath=str(tmp_path / "t"), save_args={"mode": "merge", "keys": ["page_id"]}
    )
    frame = spark.createDataFrame(_frame([("a", 1), ("b", None)], "2024-01-01"))
    ds.save(frame)
    before = ds.load().toPandas()
    ds.save(spark.createDataFrame(_frame([("a", 1), ("b", None)], "2030-01-01")))
    pd.testing.assert_frame_equal(
        before.sort_values("page_id").reset_index(drop=True),
        ds.load().toPandas().sort_values("page_id").reset_index(drop=True),
    )


def test_pandas_dataset_sees_a_table_written_after_the_catalog_was_built(spark, tmp_path):
    path = str(tmp_path / "t")
    reader = PandasDeltaTableDataset(filepath=path)  # built before the table exists
    SparkDeltaTableDataset(filepath=path).save(
        spark.createDataFrame(_frame([("a", 1)], "2024-01-01"))
    )
    first = reader.load()
    SparkDeltaTableDataset(filepath=path).save(
        spark.createDataFrame(_frame([("b", 2), ("c", 3)], "2024-01-01"))
    )
    second = reader.load()
    assert first["page_id"].tolist() == ["a"]
    assert sorted(second["page_id"]) == ["b", "c"]
    assert (first.attrs["delta_version"], second.attrs["delta_version"]) == (0, 1)


def test_pandas_dataset_pins_a_version_and_exposes_catalog_metadata(tmp_path):
    path = str(tmp_path / "t")
    writer = PandasDeltaTableDataset(filepath=path, save_args={"mode": "append"})
    writer.save(_frame([("a", 1)], "2024-01-01"))
    writer.save(_frame([("b", 2)], "2024-01-01"))
    pinned = PandasDeltaTableDataset(
        filepath=path, load_args={"version": 0}, metadata={"kedro-viz": {"layer": "primary"}}
    )
    assert pinned.load()["page_id"].tolist() == ["a"]
    assert pinned.metadata == {"kedro-viz": {"layer": "primary"}}
    assert len(PandasDeltaTableDataset(filepath=path).load()) == 2


def test_missing_table_and_bad_save_args_are_named(tmp_path):
    with pytest.raises(DatasetError, match="No Delta table"):
        PandasDeltaTableDataset(filepath=str(tmp_path / "none")).load()
    with pytest.raises(DatasetError, match="mode 'upsert'"):
        SparkDeltaTableDataset(filepath="x", save_args={"mode": "upsert"})
    with pytest.raises(DatasetError, match="needs save_args.keys"):
        SparkDeltaTableDataset(filepath="x", save_args={"mode": "merge"})


def test_a_failed_write_leaves_the_table_at_its_last_good_version(tmp_path):
    path = str(tmp_path / "t")
    delta.write_table(path, pa.table({"page_id": ["a"], "n": [1]}))
    with pytest.raises(Exception):  # noqa: B017 - delta-rs raises its own error types
        delta.write_table(path, pa.table({"page_id": ["b"], "n": ["not a number"]}), mode="append")
    table = DeltaTable(path)
    assert table.version() == 0
    assert table.to_pandas()["page_id"].tolist() == ["a"]


def test_timestamps_are_stored_as_utc_microseconds(tmp_path):
    path = str(tmp_path / "t")
    naive = pa.table({"t": pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("ns"))})
    delta.write_table(path, naive)
    assert DeltaTable(path).to_pyarrow_table().schema.field("t").type == pa.timestamp("us", "UTC")
