"""Job task values as a dataset: how one task of a Databricks job tells the next.

Databricks documents ``dbutils.jobs.taskValues.set`` for Python notebooks only; in a
Python wheel task the SDK's fallback ``dbutils`` (``databricks.sdk.dbutils``) implements
``set`` as an empty method, so "it returned" proves nothing. The wheel task therefore
saves the value as a small JSON file on a Unity Catalog volume, under the job run's id,
and the bundle's notebook task ``resources/publish_task_value.py`` publishes it with the
real ``dbutils``; that notebook fails when the file is missing. Locally the same dataset
names are memory datasets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import DatasetError

from marvel_mlops.datasets.json_marker import JSONMarkerDataset

# Databricks limits: keys up to 255 characters, JSON values up to 48 KiB.
MAX_KEY_LENGTH = 255
MAX_VALUE_BYTES = 48 * 1024


def validate_task_value(key: str, value: Any) -> str:
    """The value as JSON, or a ``ValueError`` naming the key and the broken limit."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"task value key must be a non-empty string of <= 255 chars: {key!r}")
    try:
        text = json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"task value '{key}' is not JSON-serialisable: {exc}") from exc
    if len(text.encode()) > MAX_VALUE_BYTES:
        raise ValueError(f"task value '{key}' is {len(text.encode())} bytes as JSON (limit 48 KiB)")
    return text


class TaskValueDataset(AbstractDataset):
    """Saves ``{"key": key, "value": value}`` to ``filepath`` for the publishing notebook.

    Example (conf/databricks)::

        promote_task_value:
          type: marvel_mlops.datasets.TaskValueDataset
          key: promote
          filepath: /Volumes/<catalog>/<schema>/<volume>/task_values/<job run id>/promote.json
    """

    def __init__(self, *, key: str, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        validate_task_value(key, None)
        self._key, self._filepath = key, filepath
        self._file = JSONMarkerDataset(filepath=filepath)  # written whole or not at all
        self.metadata = metadata

    def save(self, data: Any) -> None:
        validate_task_value(self._key, data)
        try:
            self._file.save({"key": self._key, "value": data})
        except (OSError, DatasetError) as exc:
            raise DatasetError(
                f"Cannot publish task value '{self._key}' to {self._filepath}: {exc}. The job's "
                "condition task would read nothing: failing instead."
            ) from exc

    def load(self) -> Any:
        try:
            stored = json.loads(Path(self._filepath).read_text())
        except FileNotFoundError as exc:
            raise DatasetError(f"Task value '{self._key}' was not published: {exc}") from exc
        return stored["value"]

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"key": self._key, "filepath": self._filepath}
