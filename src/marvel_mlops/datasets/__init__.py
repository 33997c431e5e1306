"""Kedro datasets of the project: Delta tables for Spark and pandas, the raw characters
file, the model registry (models by alias, registrations, aliases), Delta table versions,
the run's lineage, task values, the model-serving endpoint, and the feature store (feature
tables, online store, Feature Serving endpoint)."""

from marvel_mlops.datasets.delta_pandas import PandasDeltaTableDataset
from marvel_mlops.datasets.delta_spark import SparkDeltaTableDataset
from marvel_mlops.datasets.feature_serving import FeatureServingEndpointDataset
from marvel_mlops.datasets.feature_store import FeatureStoreDataset
from marvel_mlops.datasets.feature_table import DatabricksFeatureStoreDataset, FeatureTableDataset
from marvel_mlops.datasets.json_marker import JSONMarkerDataset
from marvel_mlops.datasets.local_only import LocalOnlyDataset
from marvel_mlops.datasets.model_registry import (
    ModelAliasesDataset,
    ModelRegistrationDataset,
    RegisteredModelDataset,
)
from marvel_mlops.datasets.prometheus_metrics import PrometheusMetricsDataset
from marvel_mlops.datasets.raw_characters import RawCharactersDataset
from marvel_mlops.datasets.run_lineage import RunLineageDataset
from marvel_mlops.datasets.serving_endpoint import ModelServingEndpointDataset
from marvel_mlops.datasets.spark_table import SparkTableDataset
from marvel_mlops.datasets.table_reference import TableExistsDataset
from marvel_mlops.datasets.table_version import DeltaTableVersionDataset
from marvel_mlops.datasets.task_value import TaskValueDataset

__all__ = [
    "DatabricksFeatureStoreDataset",
    "FeatureServingEndpointDataset",
    "FeatureStoreDataset",
    "FeatureTableDataset",
    "DeltaTableVersionDataset",
    "JSONMarkerDataset",
    "LocalOnlyDataset",
    "ManagedMergeTableDataset",
    "ModelAliasesDataset",
    "ModelRegistrationDataset",
    "ModelServingEndpointDataset",
    "PandasDeltaTableDataset",
    "PrometheusMetricsDataset",
    "RawCharactersDataset",
    "RegisteredModelDataset",
    "RunLineageDataset",
    "SparkDeltaTableDataset",
    "SparkTableDataset",
    "TableExistsDataset",
    "TaskValueDataset",
]


def __getattr__(name: str) -> type:
    """Imports ``ManagedMergeTableDataset`` on first use: it needs pyspark, which only
    Spark environments have (not the serving image)."""
    if name == "ManagedMergeTableDataset":
        from marvel_mlops.datasets.managed_merge import ManagedMergeTableDataset

        return ManagedMergeTableDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
