"""A metastore / Unity Catalog table read with Spark, optionally absent."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import DatasetError

from marvel_mlops.adapters.spark import get_spark


class SparkTableDataset(AbstractDataset):
    """Reads ``catalog.schema.table``; ``None`` when missing and ``optional`` (read-only)."""

    def __init__(
        self, *, table: str, optional: bool = False, metadata: dict[str, Any] | None = None
    ) -> None:
        self._table = table
        self._optional = optional
        self.metadata = metadata

    def load(self) -> Any:
        spark = get_spark()
        if not spark.catalog.tableExists(self._table):
            if self._optional:
                return None
            raise DatasetError(f"Table {self._table} does not exist")
        return spark.table(self._table)

    def save(self, data: Any) -> None:
        raise DatasetError(f"{self._table} is an input table: it is never written here")

    def _describe(self) -> dict[str, Any]:
        return {"table": self._table, "optional": self._optional}
