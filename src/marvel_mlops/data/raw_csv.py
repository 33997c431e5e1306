"""Strict parsing of the raw characters CSV, record by record, in plain Python.

Spark's permissive CSV reader accepts a row cut mid-quote, drops extra fields and
decodes bad bytes into replacement characters. Here every record is either well formed
(exactly one value per header column, valid UTF-8) or malformed, and a malformed record
keeps its raw text and a reason:

* ``malformed_row``: the CSV syntax is broken (an unbalanced quote, a record cut short)
  or the record has fewer fields than the header;
* ``too_many_fields``: more fields than the header;
* ``invalid_encoding``: bytes that are not UTF-8 (shown as ``\\xNN`` in the raw text).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

INDEX_COLUMN = "_c0"
"""Name given to the raw file's unnamed first column (a pandas index), as Spark does."""

MALFORMED_REASON = "_malformed_reason"
RAW_RECORD = "_raw_record"
RAW_DIGEST = "_raw_file_sha256"
"""Columns the raw dataset adds to the loaded frame: why a record is malformed (null when
it is not), for malformed records their raw text, and the file's SHA-256 on every row."""

MALFORMED_ROW, TOO_MANY_FIELDS, INVALID_ENCODING = (
    "malformed_row",
    "too_many_fields",
    "invalid_encoding",
)


@dataclass
class ParsedCsv:
    """The header, the well-formed records and the malformed ones (reason, raw text)."""

    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    malformed: list[tuple[str, str, str]] = field(default_factory=list)
    """(first field or record number, reason, raw text) per malformed record."""


class _Lines:
    """The text's lines, remembering those consumed since the last ``take``."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self._taken: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._taken.append(line)
        return line

    def take(self) -> str:
        text, self._taken = "".join(self._taken), []
        return text


def _printable(text: str) -> str:
    """Valid UTF-8 text: undecodable bytes (kept as surrogates) become ``\\xNN``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _has_bad_bytes(values: list[str]) -> bool:
    return any("\udc80" <= ch <= "\udcff" for value in values for ch in value)


def _reason(record: list[str], width: int) -> str | None:
    if len(record) > width:
        return TOO_MANY_FIELDS
    if len(record) < width:
        return MALFORMED_ROW
    return INVALID_ENCODING if _has_bad_bytes(record) else None


def _header(record: list[str]) -> list[str]:
    names = [_printable(name).strip() for name in record]
    return [INDEX_COLUMN if i == 0 and not name else name for i, name in enumerate(names)]


def parse_raw_csv(data: bytes, sep: str = ",") -> ParsedCsv:
    """Parses the raw file's bytes into well-formed records and malformed ones."""
    text = data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    lines, parsed, number = _Lines(text), ParsedCsv(), 0
    reader = csv.reader(lines, delimiter=sep, strict=True)
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return parsed
        except csv.Error:
            record, reason = None, MALFORMED_ROW
        raw = lines.take()
        if record == []:
            continue
        if not parsed.header and record is not None:
            parsed.header = _header(record)
            continue
        number += 1
        if record is not None:
            reason = _reason(record, len(parsed.header))
        if reason is None:
            parsed.rows.append(record)
        else:
            first = raw.split(sep, 1)[0].strip() or str(number)
            parsed.malformed.append((_printable(first), reason, _printable(raw)))
