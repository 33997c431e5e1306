"""Logging filters for the console configuration (``conf/logging.yml``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence


class DropMessages(logging.Filter):
    """Drops records whose message matches one of ``patterns`` (library notices about
    choices this project made on purpose); every other record passes."""

    def __init__(self, patterns: Sequence[str] = ()) -> None:
        super().__init__()
        self._pattern = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None

    def filter(self, record: logging.LogRecord) -> bool:
        return self._pattern is None or not self._pattern.search(record.getMessage())
