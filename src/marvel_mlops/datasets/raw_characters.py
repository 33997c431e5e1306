"""The raw Marvel characters CSV, generated on first use when it is missing."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import DatasetError

from marvel_mlops.adapters.spark import get_spark
from marvel_mlops.data.generator import generate_raw, write_raw_csv

logger = logging.getLogger(__name__)

DEFAULT_LOAD_ARGS: dict[str, Any] = {
    "header": True,
    "multiLine": True,
    "escape": '"',
    "inferSchema": False,
    "mode": "PERMISSIVE",
}


class RawCharactersDataset(AbstractDataset):
    """A raw characters CSV read by Spark with every column as a string.

    When the file is missing and ``generator`` is set, a seeded synthetic file of the
    real file's shape is written first; with ``generator: null`` a missing file is an
    error (the setting for real data).

    Example::

        raw_characters:
          type: marvel_mlops.datasets.RawCharactersDataset
          filepath: data/01_raw/marvel_characters.csv
          generator: {n_rows: 92615, seed: 42}
    """

    def __init__(
        self,
        *,
        filepath: str,
        generator: dict[str, Any] | None = None,
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = filepath
        self._generator = generator
        self._load_args = {**DEFAULT_LOAD_ARGS, **(load_args or {})}
        self.metadata = metadata

    def _ensure_file(self) -> None:
        path = Path(self._filepath)
        if path.exists() or self._filepath.startswith(("dbfs:", "s3:", "abfss:", "gs:")):
            return
        if self._generator is None:
            raise DatasetError(
                f"Raw file '{self._filepath}' does not exist (and generation is "
                "off for this catalog entry)"
            )
        logger.info("Raw file %s is missing: generating %s", path, self._generator)
        write_raw_csv(generate_raw(**self._generator), path)

    def load(self) -> Any:
        self._ensure_file()
        path = self._filepath if "://" in self._filepath else str(Path(self._filepath).resolve())
        return get_spark().read.options(**self._load_args).csv(path)

    def save(self, data: Any) -> None:
        raise DatasetError("raw_characters is an input: it is never written by a pipeline")

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "generator": self._generator,
            "load_args": self._load_args,
        }
