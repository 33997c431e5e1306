"""Kedro datasets of the project: Delta tables for Spark and pandas, the raw characters file."""

from marvel_mlops.datasets.delta_pandas import PandasDeltaTableDataset
from marvel_mlops.datasets.delta_spark import SparkDeltaTableDataset
from marvel_mlops.datasets.raw_characters import RawCharactersDataset

__all__ = ["PandasDeltaTableDataset", "RawCharactersDataset", "SparkDeltaTableDataset"]
