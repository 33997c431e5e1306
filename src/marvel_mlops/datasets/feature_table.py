"""Databricks homes of the feature tables and of the feature store (Unity Catalog)."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset


class FeatureTableDataset(AbstractDataset):
    """A Unity Catalog feature table: written through Feature Engineering, read with Spark.

    Example (conf/databricks)::

        character_attributes@spark:
          type: marvel_mlops.datasets.FeatureTableDataset
          table: mlops_dev.marvel_characters.character_attributes
    """

    def __init__(self, *, table: str, metadata: dict[str, Any] | None = None) -> None:
        self._table = table
        self.metadata = metadata

    def load(self) -> Any:
        from marvel_mlops.adapters.spark import get_spark

        return get_spark().table(self._table)

    def save(self, data: Any) -> None:
        from marvel_mlops.adapters.feature_engineering import write_feature_table

        write_feature_table(self._table, data, "marvel-mlops feature_engineering")

    def _describe(self) -> dict[str, Any]:
        return {"table": self._table}


class DatabricksFeatureStoreDataset(AbstractDataset):
    """Feature Engineering lookups (load) and Online Feature Store publishing (save).

    ``table`` is the first feature table (the dataset's Unity Catalog home); ``tables``
    names every feature table; ``online_store`` the Online Feature Store to publish to.
    """

    def __init__(
        self,
        *,
        table: str,
        tables: dict[str, str],
        online_store: str,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._table, self._tables, self._online_store = table, dict(tables), online_store
        self.metadata = metadata

    def load(self) -> Any:
        from marvel_mlops.adapters.feature_engineering import DatabricksLookup

        return DatabricksLookup(self._tables)

    def save(self, data: dict[str, Any]) -> None:
        self.load().publish(self._online_store)

    def _describe(self) -> dict[str, Any]:
        return {"table": self._table, "tables": self._tables, "online_store": self._online_store}
