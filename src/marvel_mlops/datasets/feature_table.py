"""Databricks homes of the feature tables and of the feature store (Unity Catalog)."""

from __future__ import annotations

import logging
from typing import Any

from kedro.io import AbstractDataset

logger = logging.getLogger(__name__)


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
    names every feature table; ``online_store`` the Databricks Online Feature Store
    (``name``, ``capacity``, ``publish_mode``: ``adapters.online_store.OnlineStoreSpec``),
    created on the first save when missing. ``client_config`` goes to ``WorkspaceClient``
    (default: the job's own authentication).
    """

    def __init__(
        self,
        *,
        table: str,
        tables: dict[str, str],
        online_store: dict[str, Any],
        client_config: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        from marvel_mlops.adapters.online_store import OnlineStoreSpec

        self._table, self._tables = table, dict(tables)
        self._online_store = OnlineStoreSpec(**online_store)
        self._client_config = client_config or {}
        self.metadata = metadata

    def load(self) -> Any:
        from marvel_mlops.adapters.feature_engineering import DatabricksLookup

        return DatabricksLookup(self._tables)

    def save(self, data: dict[str, Any]) -> None:
        from databricks.sdk import WorkspaceClient

        outcome = self.load().publish(WorkspaceClient(**self._client_config), self._online_store)
        logger.info("Online store %s (%s): published %s", self._online_store.name,
                    outcome["action"], ", ".join(outcome["published"]))  # fmt: skip

    def _describe(self) -> dict[str, Any]:
        return {"table": self._table, "tables": self._tables, "online_store": self._online_store}
