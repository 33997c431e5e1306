"""Kedro datasets of the project: Delta tables for Spark and pandas, the raw characters
file, registered models by alias and Delta table versions."""

from marvel_mlops.datasets.delta_pandas import PandasDeltaTableDataset
from marvel_mlops.datasets.delta_spark import SparkDeltaTableDataset
from marvel_mlops.datasets.json_marker import JSONMarkerDataset
from marvel_mlops.datasets.raw_characters import RawCharactersDataset
from marvel_mlops.datasets.registered_model import RegisteredModelDataset
from marvel_mlops.datasets.spark_table import SparkTableDataset
from marvel_mlops.datasets.table_version import DeltaTableVersionDataset

__all__ = [
    "DeltaTableVersionDataset",
    "JSONMarkerDataset",
    "PandasDeltaTableDataset",
    "RawCharactersDataset",
    "RegisteredModelDataset",
    "SparkDeltaTableDataset",
    "SparkTableDataset",
]
