"""The current version of a Delta table, as a Kedro dataset (for lineage)."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import DatasetError

from marvel_mlops.adapters import delta


class DeltaTableVersionDataset(AbstractDataset):
    """Loads ``{"table": ..., "version": ...}`` for a Delta table.

    ``filepath`` for a path (local lakehouse, delta-rs); ``table`` for a Unity Catalog
    table (``catalog.schema.table``, read with ``DESCRIBE HISTORY`` on Spark).
    """

    def __init__(
        self,
        *,
        filepath: str | None = None,
        table: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if (filepath is None) == (table is None):
            raise DatasetError("DeltaTableVersionDataset needs exactly one of filepath, table")
        self._filepath = filepath
        self._table = table
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        if self._filepath is not None:
            version = delta.latest_version(self._filepath)
            if version is None:
                raise DatasetError(f"No Delta table at '{self._filepath}'")
            return {"table": self._filepath, "version": version}
        from marvel_mlops.adapters.spark import get_spark

        row = get_spark().sql(f"DESCRIBE HISTORY {self._table} LIMIT 1").first()
        return {"table": self._table, "version": int(row["version"])}

    def save(self, data: Any) -> None:
        raise DatasetError("A table version is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "table": self._table}
