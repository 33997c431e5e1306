"""A catalog entry that exists only to refuse: local-only data never reaches Unity Catalog."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import DatasetError


class LocalOnlyDataset(AbstractDataset):
    """Refuses every load and save, naming what is local-only and what to do instead.

    ``conf/databricks`` maps the demo-traffic outputs to it, so generated data can never be
    written to a workspace table, however a pipeline is run.

    Example::

        inference_log@demo:
          type: marvel_mlops.datasets.LocalOnlyDataset
          reason: demo traffic is generated locally only; ...
    """

    def __init__(self, *, reason: str, metadata: dict[str, Any] | None = None) -> None:
        self._reason = reason
        self.metadata = metadata

    def load(self) -> Any:
        raise DatasetError(f"Refused: {self._reason}")

    def save(self, data: Any) -> None:
        raise DatasetError(f"Refused: {self._reason}")

    def _exists(self) -> bool:
        return False

    def _describe(self) -> dict[str, Any]:
        return {"reason": self._reason}
