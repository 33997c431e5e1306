"""The raw Marvel characters CSV, generated on first use when it is missing."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import fsspec
from kedro.io import AbstractDataset
from kedro.io.core import DatasetError

from marvel_mlops.adapters.spark import get_spark
from marvel_mlops.data.generator import generate_raw, write_raw_csv
from marvel_mlops.data.raw_csv import (
    MALFORMED_REASON,
    RAW_DIGEST,
    RAW_RECORD,
    ParsedCsv,
    parse_raw_csv,
)

logger = logging.getLogger(__name__)

DEFAULT_LOAD_ARGS: dict[str, Any] = {"sep": ","}


def _to_spark(parsed: ParsedCsv, digest: str) -> Any:
    """One string column per header column, the malformed-record columns, the digest."""
    import pyarrow as pa

    names = [*parsed.header, MALFORMED_REASON, RAW_RECORD, RAW_DIGEST]
    if not parsed.header:
        from pyspark.sql.types import StructType

        return get_spark().createDataFrame([], StructType([]))
    width = len(parsed.header)
    columns: list[list[str | None]] = [list(c) for c in zip(*parsed.rows, strict=True)] or [
        [] for _ in range(width)
    ]
    columns += [[None] * len(parsed.rows), [None] * len(parsed.rows)]
    for first, reason, raw in parsed.malformed:
        for i, value in enumerate([first, *[None] * (width - 1), reason, raw]):
            columns[i].append(value)
    columns.append([digest] * len(columns[0]))
    arrays = [pa.array(c, type=pa.string()) for c in columns]
    return get_spark().createDataFrame(pa.Table.from_arrays(arrays, names=names))


class RawCharactersDataset(AbstractDataset):
    """A raw characters CSV as a Spark DataFrame with every column as a string.

    The file is parsed strictly in Python (``marvel_mlops.data.raw_csv``): malformed
    records (broken quoting, too many or too few fields, bytes that are not UTF-8) come
    back as rows with a ``_malformed_reason`` and their ``_raw_record`` text, so that
    data_processing can reject them with a reason. The unnamed index column is ``_c0``;
    ``_raw_file_sha256`` holds the file's SHA-256 on every row.

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
        with fsspec.open(self._filepath, "rb") as stream:
            data = stream.read()
        parsed = parse_raw_csv(data, sep=self._load_args.get("sep", ","))
        if parsed.malformed:
            logger.warning(
                "raw_characters: %d malformed record(s) (kept for rejected_characters)",
                len(parsed.malformed),
            )
        return _to_spark(parsed, hashlib.sha256(data).hexdigest())

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
