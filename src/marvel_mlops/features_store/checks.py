"""Checks every feature table passes before it is written or read for training."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from marvel_mlops.errors import PlainError


class FeatureTableError(PlainError, ValueError):
    """A feature table that cannot be used: the message names table, key and column."""


def duplicate_key_error(table: str, key: str, value: object, ts: str, when: object, n: int):
    """The error for a key that appears more than once at one timestamp."""
    return FeatureTableError(
        f"feature table {table!r}: key {key}={value!r} appears {n} times at {ts}={when} "
        f"(column {key!r} with {ts!r} must be unique); fix the source rows and rerun"
    )


def future_timestamp_error(table: str, key: str, value: object, ts: str, when: object, now):
    """The error for a row dated after the run's clock."""
    return FeatureTableError(
        f"feature table {table!r}: key {key}={value!r} has column {ts!r} = {when}, which is in "
        f"the future (now {now}); a feature row cannot be dated after it was computed"
    )


def check_frame(frame: pd.DataFrame, table: str, key: str, ts: str, now: datetime) -> None:
    """Raises ``FeatureTableError`` on a duplicated (key, timestamp) or a future timestamp."""
    counts = frame.groupby([key, ts], sort=False).size()
    duplicated = counts[counts > 1]
    if len(duplicated):
        (value, when), n = duplicated.index[0], int(duplicated.iloc[0])
        raise duplicate_key_error(table, key, value, ts, when, n)
    stamps = pd.to_datetime(frame[ts], utc=True)
    future = frame[stamps > pd.Timestamp(now)]
    if len(future):
        raise future_timestamp_error(table, key, future[key].iloc[0], ts, future[ts].iloc[0], now)
