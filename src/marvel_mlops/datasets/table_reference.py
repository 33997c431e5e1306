"""Read-only datasets that name a table by local Delta path or by Unity Catalog name."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import DatasetError

from marvel_mlops.adapters import delta
from marvel_mlops.adapters.spark import get_spark


def table_exists(filepath: str | None, table: str | None) -> bool:
    """Whether the Delta table at ``filepath`` (delta-rs) or the metastore ``table`` exists."""
    if filepath is not None:
        return delta.table_exists(filepath)
    return bool(get_spark().catalog.tableExists(table))


class TableReferenceDataset(AbstractDataset):
    """Base: exactly one of ``filepath`` (local lakehouse) or ``table`` (Unity Catalog)."""

    def __init__(
        self,
        *,
        filepath: str | None = None,
        table: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if (filepath is None) == (table is None):
            raise DatasetError(f"{type(self).__name__} needs exactly one of filepath, table")
        self._filepath, self._table = filepath, table
        self.metadata = metadata

    def save(self, data: Any) -> None:
        raise DatasetError(f"{type(self).__name__} is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "table": self._table}


class TableExistsDataset(TableReferenceDataset):
    """Loads whether a table exists (the demo traffic generator runs only when it does not)."""

    def load(self) -> bool:
        return table_exists(self._filepath, self._table)
