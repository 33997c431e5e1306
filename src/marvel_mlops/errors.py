"""Errors about the user's data or state, whose message says everything needed.

The project's ``run`` command prints them plainly, without a traceback (the traceback
goes to ``logs/last_error.log``, or to the terminal with ``--verbose``).
"""

from __future__ import annotations


class PlainError(Exception):
    """An error to show as its message alone: what is wrong, where, and what to do."""


def plain_error(error: BaseException) -> PlainError | None:
    """The ``PlainError`` behind ``error`` (itself or a cause), if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, PlainError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
