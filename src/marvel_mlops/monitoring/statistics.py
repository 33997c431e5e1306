"""Drift and profile statistics computed exactly from value counts.

Every function takes the distinct values of a column and how often each occurs (what the
Spark sketch returns), never the rows, so a window of 5 M rows costs as much as one of
5 k. On raw samples they equal SciPy's: ``ks_2samp(...).statistic``,
``wasserstein_distance``, ``jensenshannon(base=2)`` and ``chi2_contingency(...,
correction=False)`` (the tests check it).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import special  # chdtrc is chi2.sf without importing all of scipy.stats

NULL, OTHER = "__null__", "__other__"
PSI_EPSILON = 1e-4


def shares(counts: np.ndarray) -> np.ndarray:
    """Counts as shares (all zeros stay zeros)."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    return counts / total if total > 0 else counts


def psi(reference: np.ndarray, current: np.ndarray, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index over aligned bins; empty bins count as ``epsilon``."""
    expected = np.clip(shares(reference), epsilon, None)
    actual = np.clip(shares(current), epsilon, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def js_distance(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between aligned count vectors."""
    p, q = shares(reference), shares(current)
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / m[mask])))

    return float(np.sqrt(max((kl(p) + kl(q)) / 2, 0.0)))


def chi_squared_pvalue(reference: np.ndarray, current: np.ndarray) -> float:
    """p-value of the chi-square test of homogeneity on a 2 x k table (no Yates correction)."""
    table = np.vstack([reference, current]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return float(special.chdtrc(table.shape[1] - 1, statistic))


def _cdfs(
    ref_values: np.ndarray, ref_counts: np.ndarray, cur_values: np.ndarray, cur_counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    grid = np.union1d(ref_values, cur_values)

    def cdf(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
        order = np.argsort(values)
        cumulative = np.concatenate([[0.0], np.cumsum(counts[order], dtype=float)])
        return cumulative[np.searchsorted(values[order], grid, side="right")] / counts.sum()

    return grid, cdf(ref_values, ref_counts), cdf(cur_values, cur_counts)


def ks_statistic(
    ref_values: np.ndarray, ref_counts: np.ndarray, cur_values: np.ndarray, cur_counts: np.ndarray
) -> float | None:
    """Two-sample Kolmogorov-Smirnov statistic; ``None`` when a side has no values."""
    if ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return None
    _, f_ref, f_cur = _cdfs(ref_values, ref_counts, cur_values, cur_counts)
    return float(np.max(np.abs(f_ref - f_cur)))


def wasserstein(
    ref_values: np.ndarray, ref_counts: np.ndarray, cur_values: np.ndarray, cur_counts: np.ndarray
) -> float | None:
    """First Wasserstein distance between the two samples; ``None`` when a side is empty."""
    if ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return None
    grid, f_ref, f_cur = _cdfs(ref_values, ref_counts, cur_values, cur_counts)
    return float(np.sum(np.abs(f_ref - f_cur)[:-1] * np.diff(grid)))


def weighted_std(values: np.ndarray, counts: np.ndarray) -> float | None:
    """Population standard deviation of values repeated ``counts`` times."""
    total = counts.sum()
    if total == 0:
        return None
    mean = float(np.sum(values * counts) / total)
    return float(np.sqrt(np.sum(counts * (values - mean) ** 2) / total))


def weighted_quantiles(
    values: np.ndarray, counts: np.ndarray, probabilities: tuple[float, ...]
) -> list[float | None]:
    """Quantiles like ``numpy.quantile(method="inverted_cdf")`` on the expanded sample."""
    if counts.sum() == 0:
        return [None] * len(probabilities)
    order = np.argsort(values)
    values, cumulative = values[order], np.cumsum(counts[order], dtype=float)
    positions = np.searchsorted(cumulative, np.asarray(probabilities) * cumulative[-1], "left")
    return [float(values[min(i, len(values) - 1)]) for i in positions]


def category_buckets(reference: Mapping[str, int], top_k: int) -> dict[str, str]:
    """Maps the reference's ``top_k`` categories to themselves and its others to OTHER.

    Values absent from the mapping (never seen in the reference) go to OTHER too: a long
    tail (900 rare universes, team combinations) would otherwise read as drift through
    sampling noise alone, while new categories still show up as a growing OTHER.
    """
    ranked = sorted(reference.items(), key=lambda kv: (-kv[1], kv[0]))
    return {value: (value if i < top_k else OTHER) for i, (value, _) in enumerate(ranked)}


def bucket_counts(counts: Mapping[str | None, int], buckets: Mapping[str, str]) -> dict[str, float]:
    """Sums counts into buckets (nulls in NULL, values outside the mapping in OTHER)."""
    out: dict[str, float] = {}
    for value, count in counts.items():
        key = NULL if value is None else buckets.get(value, OTHER)
        out[key] = out.get(key, 0.0) + count
    return out


def quantile_edges(values: np.ndarray, counts: np.ndarray, n_bins: int) -> np.ndarray:
    """Inner bin edges at the reference's quantiles (deduplicated) for numeric PSI."""
    probabilities = tuple(np.arange(1, n_bins) / n_bins)
    edges = [e for e in weighted_quantiles(values, counts, probabilities) if e is not None]
    return np.unique(np.asarray(edges, dtype=float))


def binned_counts(
    values: np.ndarray, counts: np.ndarray, null_count: float, edges: np.ndarray
) -> np.ndarray:
    """Counts per bin (``len(edges) + 1`` bins, right-closed on the edges) plus a null bin."""
    bins = np.searchsorted(edges, values, side="left")
    out = np.bincount(bins, weights=counts, minlength=len(edges) + 1).astype(float)
    return np.concatenate([out, [float(null_count)]])
