"""data_processing nodes (PySpark): validate, clean, de-duplicate and split the raw file.

These steps are about rows: types, blanks, label values, keys. Model features are
built inside the model's scikit-learn pipeline, so that training, batch scoring and
serving share one implementation.
"""

from __future__ import annotations

import hashlib
import logging
from functools import reduce
from pathlib import Path
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from marvel_mlops.data.processing_run import RAW_DIGEST_COLUMN, RUN_ID_COLUMN, processing_run
from marvel_mlops.data.raw_csv import INDEX_COLUMN, MALFORMED_REASON, RAW_DIGEST, RAW_RECORD
from marvel_mlops.data.schema import (
    KEY_COLUMN,
    LABEL_COLUMN,
    LABEL_VALUES,
    NUMERIC_RAW_COLUMNS,
    RAW_COLUMNS,
    RAW_TO_CLEAN,
)
from marvel_mlops.errors import PlainError

logger = logging.getLogger(__name__)

SOURCE_ROW = "source_row"
SPARK_INDEX_COLUMN = INDEX_COLUMN
REASON = "reason"
RAW_RECORD_COLUMN = "raw_record"
TABLE_COLUMNS = [c for c in RAW_TO_CLEAN.values()]
RUN_COLUMNS = [RUN_ID_COLUMN, RAW_DIGEST_COLUMN]


def _display(column: str) -> str:
    """A raw column's name for people: Spark's ``_c0`` is the unnamed index column."""
    return "the unnamed index column" if column == SPARK_INDEX_COLUMN else repr(column)


def _display_all(columns: list[str]) -> str:
    return "[" + ", ".join(_display(c) for c in columns) + "]"


class RawDataError(PlainError, ValueError):
    """The raw file cannot be processed at all (as opposed to single bad rows)."""


def _invalid_number(column: str) -> Column:
    value = F.trim(F.col(column))
    return (value != "") & F.expr(f"try_cast(trim(`{column}`) AS DOUBLE)").isNull()


def _check_column_types(raw: DataFrame, max_invalid_share: float) -> None:
    label = F.lower(F.trim(F.col("Alive")))
    checks = {c: _invalid_number(c) for c in NUMERIC_RAW_COLUMNS}
    checks["Alive"] = (label != "") & ~label.isin(list(LABEL_VALUES))
    present = {c: F.trim(F.col(c)) != "" for c in checks}
    aggs = [
        F.sum(F.when(cond, 1).otherwise(0)).alias(f"bad_{i}")
        for i, cond in enumerate(checks.values())
    ]
    aggs += [
        F.sum(F.when(cond, 1).otherwise(0)).alias(f"present_{i}")
        for i, cond in enumerate(present.values())
    ]
    row = raw.agg(F.count(F.lit(1)).alias("rows"), *aggs).first()
    if row["rows"] == 0:
        raise RawDataError("raw_characters has a header but no rows")
    for i, column in enumerate(checks):
        bad, present_count = row[f"bad_{i}"] or 0, row[f"present_{i}"] or 0
        if present_count and bad / present_count > max_invalid_share:
            example = raw.where(checks[column]).select(column).first()[0]
            expected = "one of Alive/Dead" if column == "Alive" else "a number"
            raise RawDataError(
                f"column {_display(column)} has the wrong type: {bad} of {present_count} values are "
                f"not {expected} (example value: {example!r})"
            )


def separate_malformed_rows(raw: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Splits off the records the CSV parser marked malformed (reason and raw text kept).

    Returns the well-formed rows (raw columns and the file digest) and the malformed ones
    as ``source_row, reason, raw_record``.
    """
    if MALFORMED_REASON not in raw.columns:
        empty = raw.where(F.lit(False))
        none = F.lit(None).cast("string")
        return raw, empty.select(
            none.alias(SOURCE_ROW), none.alias(REASON), none.alias(RAW_RECORD_COLUMN)
        )
    well_formed = raw.where(F.col(MALFORMED_REASON).isNull()).drop(MALFORMED_REASON, RAW_RECORD)
    first = F.col(SPARK_INDEX_COLUMN) if SPARK_INDEX_COLUMN in raw.columns else F.lit(None)
    malformed = raw.where(F.col(MALFORMED_REASON).isNotNull()).select(
        first.cast("string").alias(SOURCE_ROW),
        F.col(MALFORMED_REASON).alias(REASON),
        F.col(RAW_RECORD).alias(RAW_RECORD_COLUMN),
    )
    return well_formed, malformed


def identify_processing_run(well_formed: DataFrame, params: dict[str, Any]) -> dict[str, str]:
    """The run's id and raw file digest, stamped on every row this run writes.

    The id depends on the raw file, the parameters and this module's code only.
    """
    has_digest = RAW_DIGEST in well_formed.columns
    first = well_formed.select(RAW_DIGEST).first() if has_digest else None
    raw_digest = first[0] if first else "unknown"
    code_digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    run = processing_run(raw_digest, params, code_digest)
    logger.info("data_processing run %s (raw file sha256 %s)", run[RUN_ID_COLUMN], raw_digest)
    return run


def validate_raw_characters(raw: DataFrame, params: dict[str, Any]) -> DataFrame:
    """Checks the raw file against the raw schema and renames columns to snake_case.

    Raises ``RawDataError`` naming the column when a required column is missing,
    when a column's values are mostly of the wrong type, or when the file is empty.
    """
    if not raw.columns:
        raise RawDataError(f"raw_characters is empty: expected the columns {list(RAW_COLUMNS)}")
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise RawDataError(
            f"raw_characters is missing required column(s) {missing}; found "
            f"{_display_all(raw.columns)}"
        )
    extra = [c for c in raw.columns if c not in (*RAW_COLUMNS, SPARK_INDEX_COLUMN, RAW_DIGEST)]
    if extra:
        logger.warning("Ignoring unexpected raw column(s) %s", extra)
    source_row = (
        F.col(SPARK_INDEX_COLUMN)
        if SPARK_INDEX_COLUMN in raw.columns
        else F.monotonically_increasing_id().cast("string")
    )
    raw = raw.select(
        *[F.col(f"`{c}`").cast("string").alias(c) for c in RAW_COLUMNS],
        source_row.cast("string").alias(SOURCE_ROW),
    )
    _check_column_types(raw, params["max_invalid_share"])
    return raw.select(
        SOURCE_ROW,
        *[F.col(f"`{raw_name}`").alias(clean) for raw_name, clean in RAW_TO_CLEAN.items()],
    )


def _rejection_reason(params: dict[str, Any]) -> Column:
    """The first rule a row breaks, or null when the row is usable."""
    label = F.lower(F.col(LABEL_COLUMN))
    rules: list[tuple[Column, Column]] = [
        (F.col(KEY_COLUMN).isNull(), F.lit("missing_page_id")),
        (F.col(LABEL_COLUMN).isNull(), F.lit("missing_label")),
        (~label.isin(list(LABEL_VALUES)), F.lit("invalid_label")),
    ]
    for column, (low, high) in params["numeric_ranges"].items():
        number = F.expr(f"try_cast({column} AS DOUBLE)")
        rules.append(
            (F.col(column).isNotNull() & number.isNull(), F.lit(f"invalid_number:{column}"))
        )
        rules.append(
            (number.isNotNull() & ~number.between(low, high), F.lit(f"out_of_range:{column}"))
        )
    return reduce(lambda acc, rule: acc.when(*rule), rules[1:], F.when(*rules[0])).otherwise(
        F.lit(None)
    )


def clean_characters(validated: DataFrame, params: dict[str, Any]) -> tuple[DataFrame, DataFrame]:
    """Trims strings, turns blanks into nulls, types numbers and encodes the label.

    Returns the usable rows and the rejected rows (raw values kept, with a reason).
    """
    trimmed = validated.select(
        *[
            F.when(F.trim(F.col(c)) == "", None).otherwise(F.trim(F.col(c))).alias(c)
            for c in validated.columns
        ]
    ).withColumn(REASON, _rejection_reason(params))
    rejected = trimmed.where(F.col(REASON).isNotNull())
    label = F.lower(F.col(LABEL_COLUMN))
    encoded = reduce(
        lambda column, item: column.when(label == item[0], item[1]),
        list(LABEL_VALUES.items())[1:],
        F.when(label == next(iter(LABEL_VALUES)), next(iter(LABEL_VALUES.values()))),
    )
    usable = trimmed.where(F.col(REASON).isNull()).select(
        SOURCE_ROW,
        *[
            F.col(c).cast("double").alias(c)
            if c in params["numeric_ranges"]
            else (encoded.cast("int").alias(c) if c == LABEL_COLUMN else F.col(c))
            for c in TABLE_COLUMNS
        ],
    )
    return usable, rejected


def deduplicate_characters(clean: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Keeps one row per PageID: the most complete one, then the earliest in the file.

    Returns the unique rows and the dropped duplicates (as rejected rows): reason
    ``conflicting_duplicate`` when the duplicate's label differs from the kept row's,
    else ``duplicate_page_id``. The ranking is persisted: the count here, ``train_set``,
    ``test_set``, the rejections and the summary would otherwise each recompute it from
    the raw file (about 8 s of a default run).
    """
    completeness = sum(F.col(c).isNotNull().cast("int") for c in TABLE_COLUMNS)
    order = Window.partitionBy(KEY_COLUMN).orderBy(
        completeness.desc(),
        F.expr(f"try_cast({SOURCE_ROW} AS BIGINT)").asc_nulls_last(),
        F.sha2(F.to_json(F.struct(*TABLE_COLUMNS)), 256),
    )
    ranked = (
        clean.withColumn("_rank", F.row_number().over(order))
        .withColumn("_kept_label", F.first(LABEL_COLUMN).over(order))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    unique = ranked.where(F.col("_rank") == 1).drop("_rank", "_kept_label")
    conflicting = ~F.col(LABEL_COLUMN).eqNullSafe(F.col("_kept_label"))
    duplicates = (
        ranked.where(F.col("_rank") > 1)
        .withColumn(
            REASON,
            F.when(conflicting, F.lit("conflicting_duplicate")).otherwise("duplicate_page_id"),
        )
        .drop("_rank", "_kept_label")
    )
    n_conflicting = duplicates.where(F.col(REASON) == "conflicting_duplicate").count()
    if n_conflicting:
        logger.warning(
            "%d duplicated PageID row(s) disagree with the kept row's label "
            "(rejected as conflicting_duplicate)",
            n_conflicting,
        )
    return unique, duplicates


def _split_bucket(salt: str) -> Column:
    digest = F.sha2(F.concat(F.lit(salt), F.col(KEY_COLUMN)), 256)
    return F.conv(F.substring(digest, 1, 8), 16, 10).cast("long") % 10_000


def _stamp(frame: DataFrame, run: dict[str, str]) -> DataFrame:
    return frame.select(
        *frame.columns, *[F.lit(run[c]).cast("string").alias(c) for c in RUN_COLUMNS]
    ).withColumn("update_timestamp_utc", F.current_timestamp())


def split_train_test(
    unique: DataFrame, params: dict[str, Any], run: dict[str, str]
) -> tuple[DataFrame, DataFrame]:
    """Splits by a salted hash of PageID, so a character never changes side as data grows.

    Every row carries the processing run's id and the raw file's digest.
    """
    stamped = _stamp(unique.drop(SOURCE_ROW), run)
    in_test = _split_bucket(params["split_salt"]) < int(round(params["test_ratio"] * 10_000))
    return stamped.where(~in_test), stamped.where(in_test)


def collect_rejections(
    invalid: DataFrame,
    duplicates: DataFrame,
    malformed: DataFrame,
    run: dict[str, str],
    *written: DataFrame,
) -> DataFrame:
    """One table of every row that was not kept, its raw values as strings and why.

    Malformed records keep their raw text in ``raw_record`` (null for the others).
    ``written`` (``train_set``, ``test_set``) is taken only to order the commits: this
    table is written after them, so a crash can leave it behind the run that training
    checks, never ahead of it with ``train_set``/``test_set`` still from the last run.
    """
    columns = [SOURCE_ROW, *TABLE_COLUMNS]
    none = F.lit(None).cast("string")

    def shaped(frame: DataFrame) -> DataFrame:
        return frame.select(
            *[(F.col(c) if c in frame.columns else none).cast("string").alias(c) for c in columns],
            REASON,
            (F.col(RAW_RECORD_COLUMN) if RAW_RECORD_COLUMN in frame.columns else none).alias(
                RAW_RECORD_COLUMN
            ),
        )

    rows = shaped(invalid).unionByName(shaped(duplicates)).unionByName(shaped(malformed))
    key = [*columns, REASON, RAW_RECORD_COLUMN]
    rejection_id = F.sha2(
        F.concat_ws("\u0001", *[F.coalesce(F.col(c), F.lit("\u0000")) for c in key]), 256
    )
    return _stamp(rows.withColumn("rejection_id", rejection_id), run)


def summarise_processing(
    validated: DataFrame,
    malformed: DataFrame,
    train: DataFrame,
    test: DataFrame,
    rejected: DataFrame,
    run: dict[str, str],
) -> dict[str, Any]:
    """Counts rows read, kept and rejected per reason, and logs them.

    Written last, the summary is the run's commit marker: it names the run whose rows
    ``train_set``, ``test_set`` and ``rejected_characters`` now hold.
    """
    reasons = {r[REASON]: r["count"] for r in rejected.groupBy(REASON).count().collect()}
    summary = {
        **run,
        "rows_read": validated.count() + malformed.count(),
        "rows_train": train.count(),
        "rows_test": test.count(),
        "rows_rejected": sum(reasons.values()),
        "rejected_by_reason": dict(sorted(reasons.items())),
    }
    logger.info(
        "data_processing: read %(rows_read)s rows, kept %(rows_train)s train + %(rows_test)s "
        "test, rejected %(rows_rejected)s %(rejected_by_reason)s",
        summary,
    )
    if (
        summary["rows_read"]
        != summary["rows_train"] + summary["rows_test"] + summary["rows_rejected"]
    ):
        raise RuntimeError(f"Row counts do not add up: {summary}")
    return summary
