"""Profile and drift rows (Lakehouse Monitoring's shape) from value-count sketches.

A sketch has one row per group, column and value (``sketch.value_sketch``). Rows of
the output tables carry ``window_start``, ``window_end``, ``granularity``, ``model_id``,
``slice_key``/``slice_value`` (the variant), ``column_name`` and the metrics, like
Databricks Lakehouse Monitoring's ``*_profile_metrics`` and ``*_drift_metrics`` tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from marvel_mlops.monitoring import statistics as st
from marvel_mlops.monitoring.sketch import TAIL

KEYS = ["window_start", "window_end", "model_id", "slice_value"]
QUANTILES = {"p05": 0.05, "p25": 0.25, "median": 0.5, "p75": 0.75, "p95": 0.95}
TABLE = ":table"


@dataclass
class ColumnCounts:
    """One column's value counts in one window (or in the baseline)."""

    numeric: bool
    values: np.ndarray  # non-null numeric values, or category labels
    counts: np.ndarray
    nulls: float
    tail_count: float = 0.0
    tail_values: int = 0

    @property
    def total(self) -> float:
        return float(self.counts.sum() + self.nulls + self.tail_count)

    def categories(self) -> dict[str | None, float]:
        out: dict[str | None, float] = dict(zip(self.values, self.counts, strict=True))
        if self.nulls:
            out[None] = self.nulls
        return out


def column_counts(rows: pd.DataFrame, numeric: bool) -> ColumnCounts:
    """Collects one column's sketch rows into arrays."""
    if numeric:
        present = rows[rows["num_value"].notna()]
        nulls = float(rows.loc[rows["num_value"].isna(), "count"].sum())
        return ColumnCounts(
            True, present["num_value"].to_numpy(float), present["count"].to_numpy(float), nulls
        )
    tail = rows["str_value"] == TAIL
    present = rows[rows["str_value"].notna() & ~tail]
    return ColumnCounts(
        False,
        present["str_value"].to_numpy(object),
        present["count"].to_numpy(float),
        float(rows.loc[rows["str_value"].isna(), "count"].sum()),
        float(rows.loc[tail, "count"].sum()),
        int(rows.loc[tail, "n_values"].sum()),
    )


def iter_columns(
    sketch: pd.DataFrame, numeric_columns: Sequence[str], keys: Sequence[str] = KEYS
) -> Iterator[tuple[tuple, str, ColumnCounts]]:
    """Yields (group key, column name, counts) for every group and column of a sketch."""
    for key, rows in sketch.groupby([*keys, "column_name"], sort=True, dropna=False):
        *group, column = key
        yield tuple(group), column, column_counts(rows, column in numeric_columns)


def profile_metrics(counts: ColumnCounts, top_k: int) -> dict:
    """Count, nulls, distinct values and moments/quantiles or frequent items of a column."""
    total = counts.total
    row = {
        "data_type": "double" if counts.numeric else "string",
        "count": int(total),
        "num_nulls": int(counts.nulls),
        "percent_null": counts.nulls / total if total else None,
        "distinct_count": int(len(counts.values) + counts.tail_values),
    }
    if counts.numeric:
        present = counts.counts.sum()
        mean = float(np.sum(counts.values * counts.counts) / present) if present else None
        quantiles = st.weighted_quantiles(counts.values, counts.counts, tuple(QUANTILES.values()))
        row |= {
            "avg": mean,
            "stddev": st.weighted_std(counts.values, counts.counts),
            "min": float(counts.values.min()) if present else None,
            "max": float(counts.values.max()) if present else None,
            **dict(zip(QUANTILES, quantiles, strict=True)),
        }
    else:
        order = np.argsort(-counts.counts, kind="stable")[:top_k]
        row["frequent_items"] = json.dumps(
            [{"item": str(counts.values[i]), "count": int(counts.counts[i])} for i in order]
        )
    return row


def drift_metrics(reference: ColumnCounts, current: ColumnCounts, config: dict) -> dict:
    """PSI and JS distance for every column; chi-square p-value for categorical ones;
    KS statistic and (normalised) Wasserstein distance for numeric ones."""
    if current.numeric:
        edges = st.quantile_edges(reference.values, reference.counts, config["psi_bins"])
        ref_bins = st.binned_counts(reference.values, reference.counts, reference.nulls, edges)
        cur_bins = st.binned_counts(current.values, current.counts, current.nulls, edges)
        args = (reference.values, reference.counts, current.values, current.counts)
        enough = min(reference.counts.sum(), current.counts.sum()) >= config["min_numeric_values"]
        distance = st.wasserstein(*args) if enough else None
        scale = max(st.weighted_std(reference.values, reference.counts) or 0.0, 1e-3)
        extra = {
            "ks_statistic": st.ks_statistic(*args) if enough else None,
            "wasserstein_distance": distance,
            "wasserstein_normalised": None if distance is None else distance / scale,
        }
    else:
        buckets = st.category_buckets(
            {v: c for v, c in reference.categories().items() if v is not None},
            config["category_top_k"],
        )
        ref, cur = (
            st.bucket_counts(
                c.categories() | {st.OTHER: c.tail_count}, buckets | {st.OTHER: st.OTHER}
            )
            for c in (reference, current)
        )
        labels = sorted(set(ref) | set(cur))
        ref_bins = np.array([ref.get(k, 0.0) for k in labels])
        cur_bins = np.array([cur.get(k, 0.0) for k in labels])
        extra = {"chi_squared_pvalue": st.chi_squared_pvalue(ref_bins, cur_bins)}
    return {
        "data_type": "double" if current.numeric else "string",
        "count": int(current.total),
        "count_cmp": int(reference.total),
        "population_stability_index": st.psi(ref_bins, cur_bins),
        "js_distance": st.js_distance(ref_bins, cur_bins),
        **extra,
    }


_WINDOW = {
    "window_start": "datetime64[us, UTC]",
    "window_end": "datetime64[us, UTC]",
    "granularity": "object",
    "model_id": "object",
    "slice_key": "object",
    "slice_value": "object",
    "column_name": "object",
    "data_type": "object",
}
_FLOAT = "float64"
PROFILE_SCHEMA = _WINDOW | {
    "count": "int64",
    "num_nulls": _FLOAT,
    "percent_null": _FLOAT,
    "distinct_count": _FLOAT,
    "avg": _FLOAT,
    "stddev": _FLOAT,
    "min": _FLOAT,
    "max": _FLOAT,
    **dict.fromkeys(QUANTILES, _FLOAT),
    "frequent_items": "object",
    "update_timestamp_utc": "datetime64[us, UTC]",
}
DRIFT_SCHEMA = _WINDOW | {
    "drift_type": "object",
    "window_cmp_start": "datetime64[us, UTC]",
    "count": "int64",
    "count_cmp": "int64",
    "population_stability_index": _FLOAT,
    "js_distance": _FLOAT,
    "chi_squared_pvalue": _FLOAT,
    "ks_statistic": _FLOAT,
    "wasserstein_distance": _FLOAT,
    "wasserstein_normalised": _FLOAT,
    "update_timestamp_utc": "datetime64[us, UTC]",
}
PERFORMANCE_SCHEMA = {k: v for k, v in _WINDOW.items() if k not in ("column_name", "data_type")} | {
    "count": "int64",
    "labelled_count": "int64",
    "label_coverage": _FLOAT,
    "roc_auc": _FLOAT,
    "log_loss": _FLOAT,
    "accuracy": _FLOAT,
    "f1": _FLOAT,
    "f1_macro": _FLOAT,
    "actual_alive_share": _FLOAT,
    "update_timestamp_utc": "datetime64[us, UTC]",
}


def conform(frame: pd.DataFrame, schema: dict[str, str]) -> pd.DataFrame:
    """Exactly the table's columns and types, so every write (even empty) has one schema."""
    out = frame.reindex(columns=list(schema))
    for column, dtype in schema.items():
        if dtype.startswith("datetime"):
            out[column] = pd.to_datetime(out[column], utc=True).astype(dtype)
        else:
            out[column] = out[column].astype(dtype)
    return out
