"""The current version of a Delta table, as a Kedro dataset (for lineage)."""

from __future__ import annotations

from typing import Any

from kedro.io.core import DatasetError

from marvel_mlops.adapters import delta
from marvel_mlops.adapters.spark import get_spark
from marvel_mlops.datasets.table_reference import TableReferenceDataset


class DeltaTableVersionDataset(TableReferenceDataset):
    """Loads ``{"table": ..., "version": ...}`` for a Delta table.

    ``filepath`` for a path (local lakehouse, delta-rs); ``table`` for a Unity Catalog
    table (``catalog.schema.table``, read with ``DESCRIBE HISTORY`` on Spark).
    """

    def load(self) -> dict[str, Any]:
        if self._filepath is not None:
            version = delta.latest_version(self._filepath)
            if version is None:
                raise DatasetError(f"No Delta table at '{self._filepath}'")
            return {"table": self._filepath, "version": version}
        row = get_spark().sql(f"DESCRIBE HISTORY {self._table} LIMIT 1").first()
        return {"table": self._table, "version": int(row["version"])}
