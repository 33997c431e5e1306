"""Catalog datasets and platform adapters of the monitoring pipeline.

Each table-facing dataset takes either ``filepath`` (a local Delta table, read with
delta-rs or, for volume, Spark's own Parquet reader over the table's active files) or
``table`` (a Unity Catalog name, read with the Databricks runtime's Spark).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset
from kedro.io.core import DatasetError

from marvel_mlops.adapters import delta, registry
from marvel_mlops.adapters.spark import get_spark
from marvel_mlops.datasets.table_reference import TableReferenceDataset, table_exists

logger = logging.getLogger(__name__)


class TableExistsDataset(TableReferenceDataset):
    """Loads whether a table exists (the demo traffic generator runs only when it does not)."""

    def load(self) -> bool:
        return table_exists(self._filepath, self._table)


class OptionalTableDataset(TableReferenceDataset):
    """A table as pandas, or an empty frame when it does not exist yet (previous state)."""

    def __init__(self, *, columns: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._columns = columns

    def load(self) -> pd.DataFrame:
        if not table_exists(self._filepath, self._table):
            return pd.DataFrame(columns=self._columns or [])
        if self._filepath is not None:
            return delta.open_table(self._filepath).to_pandas(columns=self._columns)
        frame = get_spark().table(self._table)
        return (frame.select(*self._columns) if self._columns else frame).toPandas()


def _resolve_alias(model_name: str, alias: str, fallback_alias: str | None) -> tuple[str, str]:
    for candidate in (alias, fallback_alias):
        if candidate and (version := registry.version_for_alias(model_name, candidate)):
            if candidate != alias:
                logger.warning("No '%s' version of %s: using '%s'", alias, model_name, candidate)
            return candidate, version
    raise DatasetError(
        f"Model '{model_name}' has no version with alias '{alias}'"
        + (f" or '{fallback_alias}'" if fallback_alias else "")
        + ": run the training and deployment pipelines first"
    )


class MonitoredModelDataset(AbstractDataset):
    """The monitored model version (``alias``, else ``fallback_alias``), loaded as pyfunc."""

    def __init__(
        self,
        *,
        model_name: str,
        alias: str = registry.CHAMPION,
        fallback_alias: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._model_name, self._alias, self._fallback = model_name, alias, fallback_alias
        self.metadata = metadata

    def load(self) -> registry.RegisteredModel:
        alias, version = _resolve_alias(self._model_name, self._alias, self._fallback)
        return registry.load_version(self._model_name, version, alias)

    def save(self, data: Any) -> None:
        raise DatasetError("MonitoredModelDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"model_name": self._model_name, "alias": self._alias}


class PrometheusTextfileDataset(AbstractDataset):
    """Prometheus metrics for node_exporter's textfile collector (written atomically)."""

    def __init__(self, *, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = filepath
        self.metadata = metadata

    def load(self) -> str:
        return Path(self._filepath).read_text()

    def save(self, data: Any) -> None:
        from prometheus_client import write_to_textfile

        Path(self._filepath).parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(self._filepath, data)

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath}
