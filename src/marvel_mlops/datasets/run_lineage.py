"""The running code's lineage (commit, lock file, Python, Kedro run) as a read-only dataset."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import DatasetError

from marvel_mlops.lineage import lineage_tags


class RunLineageDataset(AbstractDataset):
    """Loads the tags every model version and deployment record carries about the run."""

    def __init__(self, *, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata

    def load(self) -> dict[str, str]:
        return lineage_tags()

    def save(self, data: Any) -> None:
        raise DatasetError("RunLineageDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {}
