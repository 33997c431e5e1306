"""A JSON file used as a commit marker: written atomically, missing or unreadable = None."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import fsspec
from kedro.io import AbstractDataset


class JSONMarkerDataset(AbstractDataset):
    """A small JSON document that is either whole or absent.

    ``save`` writes a temporary file and renames it over the target (atomic on a local
    or FUSE-mounted file system such as a Unity Catalog volume), so a crash never leaves
    half a marker. ``load`` returns ``None`` when the file is missing or unreadable: the
    reader decides what an absent marker means.

    Example::

        data_processing_summary:
          type: marvel_mlops.datasets.JSONMarkerDataset
          filepath: data/08_reporting/data_processing_summary.json
    """

    def __init__(self, *, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = filepath
        self.metadata = metadata

    def load(self) -> dict[str, Any] | None:
        try:
            with fsspec.open(self._filepath, "r", encoding="utf-8") as stream:
                return json.load(stream)
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def save(self, data: dict[str, Any]) -> None:
        path = Path(self._filepath)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=2, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath}
