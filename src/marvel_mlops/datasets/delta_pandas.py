"""pandas DataFrames to and from Delta tables: kedro-datasets' dataset, made safe.

``kedro_datasets.pandas.DeltaTableDataset`` opens the table once, when the catalog is
built: a table written earlier in the same run is read at its old version, and one
created during the run reads as ``None``. Its ``metadata`` property returns Delta
metadata where Kedro-Viz expects the catalog's ``metadata`` mapping, which crashes
``kedro viz build``. This subclass opens the table on every load, keeps the catalog's
metadata, and adds the project's ``merge`` mode.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
from kedro.io.core import DatasetError
from kedro_datasets.pandas import DeltaTableDataset

from marvel_mlops.adapters import delta
from marvel_mlops.datasets._delta_args import validated_save_args


class PandasDeltaTableDataset(DeltaTableDataset):
    """A Delta table read and written as a pandas DataFrame (see module docstring).

    With ``optional: true`` a missing table loads as ``None``. A loaded frame carries its lineage in ``frame.attrs``: ``delta_table`` (the path)
    and ``delta_version`` (the version read), so nodes can record what they trained on.
    """

    def __init__(
        self,
        *,
        filepath: str,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        optional: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._optional = optional
        super().__init__(
            filepath=filepath, load_args=load_args, credentials=credentials, fs_args=fs_args
        )
        self._save_args = validated_save_args(save_args, f"PandasDeltaTableDataset({filepath})")
        self._kedro_metadata = metadata

    @property
    def metadata(self) -> dict[str, Any] | None:  # type: ignore[override]
        """The catalog entry's metadata (for Kedro-Viz), not the Delta table's."""
        return self._kedro_metadata

    def _open(self) -> Any:
        table = delta.open_table(self._filepath, self._version, self.fs_args or None)
        if table is None:
            raise DatasetError(
                f"No Delta table at '{self._filepath}': run the pipeline that writes it first"
            )
        self._delta_table = table
        return table

    def load(self) -> pd.DataFrame | None:
        """The table as pandas; ``None`` when it does not exist and ``optional: true``."""
        if self._optional and not self._exists():
            return None
        table = self._open()
        frame = table.to_pandas(columns=self._load_args.get("columns"))
        frame.attrs["delta_table"] = self._filepath
        frame.attrs["delta_version"] = table.version()
        return frame

    def save(self, data: pd.DataFrame) -> None:
        arrow = pa.Table.from_pandas(data, preserve_index=False)
        delta.write_table(
            self._filepath, arrow, storage_options=self.fs_args or None, **self._save_args
        )
        self.is_empty_dir = False

    def _exists(self) -> bool:
        return delta.table_exists(self._filepath, self.fs_args or None)

    def get_loaded_version(self) -> int | None:
        """The table version a load returns (pinned or latest)."""
        if self._version is not None:
            return self._version
        return delta.latest_version(self._filepath, self.fs_args or None)
