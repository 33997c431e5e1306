"""Kedro datasets of the project: Delta tables for Spark and pandas, the raw characters
file, registered models by alias and Delta table versions."""

from marvel_mlops.datasets.delta_pandas import PandasDeltaTableDataset
from marvel_mlops.datasets.delta_spark import SparkDeltaTableDataset
from marvel_mlops.datasets.json_marker import JSONMarkerDataset
from marvel_mlops.datasets.local_only import LocalOnlyDataset
from marvel_mlops.datasets.raw_characters import RawCharactersDataset
from marvel_mlops.datasets.registered_model import RegisteredModelDataset
from marvel_mlops.datasets.spark_table import SparkTableDataset
from marvel_mlops.datasets.table_version import DeltaTableVersionDataset
from marvel_mlops.datasets.task_value import TaskValueDataset

__all__ = [
    "DeltaTableVersionDataset",
    "JSONMarkerDataset",
    "LocalOnlyDataset",
    "ManagedMergeTableDataset",
    "PandasDeltaTableDataset",
    "RawCharactersDataset",
    "RegisteredModelDataset",
    "SparkDeltaTableDataset",
    "SparkTableDataset",
    "TaskValueDataset",
]


def __getattr__(name: str) -> type:
    """Imports ``ManagedMergeTableDataset`` on first use: it needs pyspark, which only
    Spark environments have (not the serving image)."""
    if name == "ManagedMergeTableDataset":
        from marvel_mlops.datasets.managed_merge import ManagedMergeTableDataset

        return ManagedMergeTableDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
