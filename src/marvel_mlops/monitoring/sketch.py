"""The Spark side of monitoring: windows, value-count sketches and label metrics.

``value_sketch`` is the one aggregation pass over the inference rows: every monitored
column is stacked (Spark's ``stack`` generator, code-generated) and counted per window,
model version, variant, column and value. Numbers are rounded to a few significant
digits first, which bounds a window's distinct values whatever its size; categorical
values beyond the ``max_categories`` most frequent of a window are folded into one tail
row that remembers how many distinct values it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

GROUP = ["window_start", "window_end", "model_id", "slice_value"]
TAIL = "__tail__"
EPS = 1e-15


def round_significant(column: Column, digits: int) -> Column:
    """``column`` rounded to ``digits`` significant digits (nulls and zeros unchanged)."""
    exponent = F.floor(F.log10(F.abs(column))) - (digits - 1)
    scale = F.pow(F.lit(10.0), F.abs(exponent))
    rounded = F.when(exponent < 0, F.round(column * scale) / scale).otherwise(
        F.round(column / scale) * scale
    )
    return F.when(column.isNull() | (column == 0), column).otherwise(rounded)


def with_window(df: DataFrame, granularity: str) -> DataFrame:
    """Adds the window (start, end), ``model_id`` and ``slice_value`` (the variant)."""
    window = F.window("timestamp_utc", granularity)
    return df.withColumns(
        {
            "window_start": window.start,
            "window_end": window.end,
            "model_id": F.coalesce(F.col("model_version").cast("string"), F.lit("unknown")),
            "slice_value": F.coalesce(F.col("variant"), F.lit("champion")),
        }
    )


def with_labels(inference: DataFrame, ground_truth: DataFrame | None) -> DataFrame:
    """Adds ``true_label`` (null until the character's label has arrived)."""
    if ground_truth is None:
        return inference.withColumn("true_label", F.lit(None).cast("int"))
    labels = ground_truth.select(
        "page_id", F.col("alive").cast("int").alias("true_label")
    ).dropDuplicates(["page_id"])
    return inference.join(labels, "page_id", "left")


def window_counts(df: DataFrame) -> pd.DataFrame:
    """Rows and labelled rows per window, model version and variant (a cheap pass)."""
    return (
        df.groupBy(*GROUP)
        .agg(F.count(F.lit(1)).alias("count"), F.count("true_label").alias("labelled_count"))
        .toPandas()
    )


def _stack_expression(categorical: Sequence[str], numeric: Sequence[str], digits: int) -> Column:
    parts = []
    for c in categorical:
        parts += [F.lit(c), F.col(c).cast("string"), F.lit(None).cast("double")]
    for c in numeric:
        parts += [F.lit(c), F.lit(None).cast("string"), round_significant(F.col(c), digits)]
    return F.stack(F.lit(len(categorical) + len(numeric)), *parts).alias(
        "column_name", "str_value", "num_value"
    )


def value_sketch(
    df: DataFrame,
    categorical: Sequence[str],
    numeric: Sequence[str],
    significant_digits: int,
    max_categories: int,
    group: Sequence[str] = GROUP,
) -> pd.DataFrame:
    """Value counts per group and column, as a small pandas frame (see module docstring).

    Columns: the group columns, ``column_name``, ``str_value``, ``num_value``, ``count``,
    ``n_values`` (distinct values a row stands for: 1, or the tail's size).
    """
    stacked = df.select(*group, _stack_expression(categorical, numeric, significant_digits))
    counts = stacked.groupBy(*group, "column_name", "str_value", "num_value").agg(
        F.count(F.lit(1)).alias("count")
    )
    rank = F.row_number().over(
        Window.partitionBy(*group, "column_name").orderBy(F.desc("count"), "str_value")
    )
    in_head = (
        F.col("num_value").isNotNull() | F.col("str_value").isNull() | (rank <= max_categories)
    )
    # One aggregation folds the tail: a head value is its own group (count kept,
    # n_values 1); the tail's values share the TAIL group. (A union of head and tail
    # would compute the counts twice.)
    folded = counts.select(
        *group,
        "column_name",
        F.when(in_head, F.col("str_value")).otherwise(F.lit(TAIL)).alias("str_value"),
        F.when(in_head, F.col("num_value")).alias("num_value"),
        "count",
    )
    return (
        folded.groupBy(*group, "column_name", "str_value", "num_value")
        .agg(F.sum("count").alias("count"), F.count(F.lit(1)).alias("n_values"))
        .toPandas()
    )


def performance_aggregates(df: DataFrame) -> pd.DataFrame:
    """Label metrics per window from labelled rows: confusion counts, log loss, exact AUC.

    ROC AUC is the Mann-Whitney statistic over probabilities grouped per window (ties
    count half), so it equals scikit-learn's ``roc_auc_score``.
    """
    labelled = df.where(F.col("true_label").isNotNull()).withColumns(
        {
            "y": F.col("true_label"),
            "p": F.least(F.greatest("probability", F.lit(EPS)), F.lit(1 - EPS)),
        }
    )
    y, p, yhat = F.col("y"), F.col("p"), F.col("label")
    confusion = labelled.groupBy(*GROUP).agg(
        F.count(F.lit(1)).alias("labelled_count"),
        F.sum(-(y * F.log(p) + (1 - y) * F.log(1 - p))).alias("log_loss_sum"),
        F.sum(((y == 1) & (yhat == 1)).cast("long")).alias("tp"),
        F.sum(((y == 0) & (yhat == 0)).cast("long")).alias("tn"),
        F.sum(((y == 0) & (yhat == 1)).cast("long")).alias("fp"),
        F.sum(((y == 1) & (yhat == 0)).cast("long")).alias("fn"),
    )
    by_score = labelled.groupBy(*GROUP, "probability").agg(
        F.sum(y).alias("pos"), F.sum(1 - y).alias("neg")
    )
    below = (
        Window.partitionBy(*GROUP).orderBy("probability").rowsBetween(Window.unboundedPreceding, -1)
    )
    ranks = by_score.withColumn("neg_below", F.coalesce(F.sum("neg").over(below), F.lit(0)))
    auc = ranks.groupBy(*GROUP).agg(
        F.sum(F.col("pos") * (F.col("neg_below") + F.col("neg") / 2)).alias("auc_u")
    )
    return confusion.join(auc, GROUP, "left").toPandas()
