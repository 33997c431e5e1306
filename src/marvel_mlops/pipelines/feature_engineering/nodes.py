"""feature_engineering nodes (PySpark): the feature tables keyed by ``page_id``.

Row-local transforms stay in the model's scikit-learn pipeline. Here is what needs data
beyond one request: aggregates over other characters. Each character arrives at its
``event_timestamp``; a feature row dated ``t`` uses only characters that arrived before
``t``, label aggregates only labels of training rows labelled before ``t`` and, for a
training row, only labels from the other cross-validation folds (no leakage). Every
character has two rows: one at its arrival (what training looks up), one at the
snapshot time ``as_of`` (what the online store serves).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from marvel_mlops.data.schema import FEATURE_COLUMNS, KEY_COLUMN, LABEL_COLUMN
from marvel_mlops.features_store.checks import duplicate_key_error, future_timestamp_error
from marvel_mlops.features_store.definitions import (
    CHARACTER_ATTRIBUTES,
    GROUP_FEATURES,
    GROUP_KINDS,
    TIMESTAMP_COLUMN,
)

TS = TIMESTAMP_COLUMN
FOLD = "fold"
LABELLED = "labelled"
SECONDS = "_seconds"
KIND, GROUP = "_kind", "_group"
KIND_COLUMNS = {"universe": "universe", "team": "teams", "creator": "creators"}


def _hash_bucket(column: str, salt: str, buckets: int) -> Column:
    return F.pmod(F.xxhash64(F.col(column), F.lit(salt)), F.lit(buckets))


def build_timeline(
    train_set: DataFrame, test_set: DataFrame, arrival: dict[str, Any], folds: dict[str, Any]
) -> DataFrame:
    """Every character with its arrival time, fold and (training rows only) label.

    The raw file has no dates (the Kaggle file neither), so a character's arrival is drawn
    from its PageID over ``arrival.days`` from ``arrival.start``: deterministic, and the
    same character arrives at the same time as the data grows. Test labels are never used.
    """
    cols = [KEY_COLUMN, *FEATURE_COLUMNS]
    train = train_set.select(*cols, F.col(LABEL_COLUMN).cast("int"), F.lit(True).alias(LABELLED))
    test = test_set.select(
        *cols, F.lit(None).cast("int").alias(LABEL_COLUMN), F.lit(False).alias(LABELLED)
    )
    start = F.unix_seconds(F.lit(arrival["start"]).cast("timestamp"))
    offset = _hash_bucket(KEY_COLUMN, arrival["salt"], int(arrival["days"]) * 86_400)
    return (
        train.unionByName(test)
        .withColumn(SECONDS, start + offset)
        .withColumn(TS, F.timestamp_seconds(F.col(SECONDS)))
        .withColumn(FOLD, _hash_bucket(KEY_COLUMN, folds["salt"], int(folds["count"])))
        .persist()  # read by both feature tables
    )


def attribute_table(timeline: DataFrame) -> DataFrame:
    """``character_attributes``: the attributes as published at the character's arrival."""
    return timeline.select(*CHARACTER_ATTRIBUTES.columns)


def label_table(timeline: DataFrame) -> DataFrame:
    """``character_labels``: the training spine (key, timestamp, label, fold), training rows only.

    Training looks every feature up as of ``event_timestamp`` and cross-validates on
    ``fold``, the folds the label aggregates were computed out of.
    """
    labelled = timeline.where(F.col(LABELLED))
    return labelled.select(KEY_COLUMN, TS, F.col(LABEL_COLUMN), F.col(FOLD).cast("int"))


def _memberships(timeline: DataFrame) -> DataFrame:
    """One row per (character, group): its universe, each team and each creator."""
    base = [KEY_COLUMN, SECONDS, FOLD, LABEL_COLUMN, LABELLED]
    parts = []
    for kind, column in KIND_COLUMNS.items():
        values = F.split(F.col(column), ";") if kind != "universe" else F.array(F.col(column))
        exploded = timeline.select(*base, F.lit(kind).alias(KIND), F.explode(values).alias(GROUP))
        parts.append(exploded.withColumn(GROUP, F.trim(F.col(GROUP))))
    members = parts[0].unionByName(parts[1]).unionByName(parts[2])
    return members.where(F.col(GROUP).isNotNull() & (F.col(GROUP) != "")).dropDuplicates(
        [KEY_COLUMN, KIND, GROUP]
    )


def _arrival_aggregates(members: DataFrame) -> DataFrame:
    """Per membership, counts and labels of earlier arrivals (other folds for training rows)."""
    before = (
        Window.partitionBy(KIND, GROUP).orderBy(SECONDS).rangeBetween(Window.unboundedPreceding, -1)
    )
    same_fold = (
        Window.partitionBy(KIND, GROUP, FOLD)
        .orderBy(SECONDS)
        .rangeBetween(Window.unboundedPreceding, -1)
    )
    labelled = F.col(LABELLED).cast("int")
    alive = F.when(F.col(LABELLED), F.col(LABEL_COLUMN)).otherwise(0)
    own_fold = F.col(LABELLED)  # test rows use every earlier training label
    return members.select(
        KEY_COLUMN,
        KIND,
        F.count(F.lit(1)).over(before).alias("n"),
        (
            F.coalesce(F.sum(alive).over(before), F.lit(0))
            - F.when(own_fold, F.coalesce(F.sum(alive).over(same_fold), F.lit(0))).otherwise(0)
        ).alias("alive"),
        (
            F.coalesce(F.sum(labelled).over(before), F.lit(0))
            - F.when(own_fold, F.coalesce(F.sum(labelled).over(same_fold), F.lit(0))).otherwise(0)
        ).alias("labels"),
    )


def _snapshot_aggregates(members: DataFrame) -> DataFrame:
    """Per membership, every other character and every other training label of the group."""
    group = Window.partitionBy(KIND, GROUP)
    labelled = F.col(LABELLED).cast("int")
    alive = F.when(F.col(LABELLED), F.col(LABEL_COLUMN)).otherwise(0)
    return members.select(
        KEY_COLUMN,
        KIND,
        (F.count(F.lit(1)).over(group) - 1).alias("n"),
        (F.sum(alive).over(group) - alive).alias("alive"),
        (F.sum(labelled).over(group) - labelled).alias("labels"),
    )


def _per_character(aggregates: DataFrame, prior: float, smoothing: float) -> DataFrame:
    """Group counts (largest group of each kind) and pooled smoothed alive rates, pivoted."""
    summed = aggregates.groupBy(KEY_COLUMN, KIND).agg(
        F.max("n").alias("n"), F.sum("alive").alias("alive"), F.sum("labels").alias("labels")
    )
    rate = (F.col("alive") + F.lit(prior * smoothing)) / (F.col("labels") + F.lit(smoothing))
    pivoted = (
        summed.groupBy(KEY_COLUMN)
        .pivot(KIND, list(GROUP_KINDS))
        .agg(
            F.first(F.col("n").cast("double")).alias("characters"),
            F.first(rate).alias("alive_rate"),
        )
    )
    return pivoted.select(
        KEY_COLUMN,
        *[
            F.coalesce(F.col(f"{k}_characters"), F.lit(0.0)).alias(f"{k}_characters")
            for k in GROUP_KINDS
        ],
        *[
            F.coalesce(F.col(f"{k}_alive_rate"), F.lit(prior)).alias(f"{k}_alive_rate")
            for k in GROUP_KINDS
        ],
    )


def group_feature_table(timeline: DataFrame, alive_rate: dict[str, Any], as_of: str) -> DataFrame:
    """``character_group_features``: a row at each arrival and a row at ``as_of`` per key."""
    members = _memberships(timeline).persist()
    prior, smoothing = float(alive_rate["prior"]), float(alive_rate["smoothing"])
    keys = timeline.select(KEY_COLUMN, TS)
    arrival = keys.join(
        _per_character(_arrival_aggregates(members), prior, smoothing), KEY_COLUMN, "left"
    )
    snapshot = timeline.select(KEY_COLUMN, F.lit(as_of).cast("timestamp").alias(TS)).join(
        _per_character(_snapshot_aggregates(members), prior, smoothing), KEY_COLUMN, "left"
    )
    filled = {c: (prior if c.endswith("_rate") else 0.0) for c in GROUP_FEATURES.features}
    return arrival.unionByName(snapshot).fillna(filled).select(*GROUP_FEATURES.columns)


def check_feature_table(table: DataFrame, name: str, now: datetime | None = None) -> DataFrame:
    """The table (computed once and cached) after the checks every feature table passes.

    A duplicated (page_id, event_timestamp) or a timestamp in the future stops the run
    with an error naming the table, the key and the column.
    """
    now = now or datetime.now(UTC)
    table = table.persist()
    duplicated = table.groupBy(KEY_COLUMN, TS).count().where(F.col("count") > 1).first()
    if duplicated:
        raise duplicate_key_error(name, KEY_COLUMN, duplicated[0], TS, duplicated[1], duplicated[2])
    future = table.where(F.col(TS) > F.lit(now)).select(KEY_COLUMN, TS).first()
    if future:
        raise future_timestamp_error(name, KEY_COLUMN, future[0], TS, future[1], now)
    return table


def checked_attributes(table: DataFrame) -> DataFrame:
    """``character_attributes`` after its checks."""
    return check_feature_table(table, CHARACTER_ATTRIBUTES.name)


def checked_group_features(table: DataFrame) -> DataFrame:
    """``character_group_features`` after its checks."""
    return check_feature_table(table, GROUP_FEATURES.name)


def online_publication(
    attributes: DataFrame, group_features: DataFrame, as_of: str
) -> dict[str, Any]:
    """What to publish online once both tables are written: each key's row as of ``as_of``.

    Reads both tables (so it runs after they are written); the feature_store dataset
    publishes the tables' current versions, or nothing when they are already online.
    """
    tables = {CHARACTER_ATTRIBUTES.name: attributes, GROUP_FEATURES.name: group_features}
    return {"as_of": as_of, "tables": {name: table.columns for name, table in tables.items()}}
