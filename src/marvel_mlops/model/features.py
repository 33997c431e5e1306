"""Character features, learned at fit time and applied identically everywhere.

``CharacterFeatures`` turns raw character attributes into a numeric matrix. The same
per-value functions serve two paths: ``transform`` (pandas, for training and batch
scoring; applied to each column's unique values) and ``transform_records`` (plain
Python over dicts, for the model server's hot path, no pandas). Tests check they agree.

Course rules kept here, not in data processing: blanks are "Unknown"; universes with
fewer than ``min_category_count`` training rows become "Other" (as do unseen ones);
``Widow`` is ``Widowed``; gender outside Male/Female is "Other"; Magic and Mutant flags
and an Origin group from the free-text Origin. Added: team and creator counts and
indicators for the most frequent teams and creators.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

UNKNOWN = "Unknown"
OTHER = "Other"

ORIGIN_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Mutant", ("mutant", "homo superior")),
    ("Asgardian", ("asgard", "god", "deity")),
    ("Symbiote", ("symbiote", "klyntar")),
    ("Robot", ("robot", "android", "cyborg", "synthezoid")),
    ("Cosmic Being", ("cosmic", "celestial", "eternal")),
    ("Alien", ("alien", "kree", "skrull", "shi'ar", "extraterrestrial")),
    ("Human", ("human", "homo sapiens", "mutate", "inhuman")),
)
MAGIC_TOKENS = ("magic", "sorcer", "demon", "vampire", "mystic", "witch")
MARITAL_SYNONYMS = {"Widow": "Widowed", "Widower": "Widowed"}

CATEGORICAL = ("universe", "identity", "gender", "marital_status", "origin_group")
INPUT_COLUMNS = (
    "universe",
    "identity",
    "gender",
    "marital_status",
    "teams",
    "height_m",
    "weight_kg",
    "origin",
    "creators",
)


def _text(value: Any) -> str | None:
    """A trimmed string, or None for missing/blank values (None, NaN, '')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any) -> float:
    """A float, NaN when missing or not a number."""
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def normalise_gender(value: Any) -> str:
    """Male / Female / Other / Unknown."""
    text = _text(value)
    if text is None:
        return UNKNOWN
    return text.title() if text.lower() in ("male", "female") else OTHER


def normalise_marital(value: Any) -> str:
    """Marital status with Widow folded into Widowed; blanks are Unknown."""
    text = _text(value)
    if text is None:
        return UNKNOWN
    return MARITAL_SYNONYMS.get(text, text)


def normalise_plain(value: Any) -> str:
    """A category as given, blanks as Unknown."""
    return _text(value) or UNKNOWN


def origin_group(value: Any) -> str:
    """Free-text Origin → Human / Mutant / Asgardian / Alien / Symbiote / Robot / Cosmic Being."""
    text = _text(value)
    if text is None or text.lower() == "unknown":
        return UNKNOWN
    lowered = text.lower()
    for group, tokens in ORIGIN_GROUPS:
        if any(token in lowered for token in tokens):
            return group
    return OTHER


def is_magic(value: Any) -> float:
    """1.0 when the Origin mentions magic (sorcerers, demons, vampires...)."""
    text = _text(value)
    return float(text is not None and any(t in text.lower() for t in MAGIC_TOKENS))


def is_mutant(value: Any) -> float:
    """1.0 when the Origin says mutant."""
    text = _text(value)
    return float(text is not None and "mutant" in text.lower())


def split_list(value: Any) -> list[str]:
    """A ';'-separated list (Teams, Creators) as trimmed, unique, non-empty items."""
    text = _text(value)
    if text is None:
        return []
    return list(dict.fromkeys(item.strip() for item in text.split(";") if item.strip()))


NORMALISERS = {
    "universe": normalise_plain,
    "identity": normalise_plain,
    "gender": normalise_gender,
    "marital_status": normalise_marital,
}


class CharacterFeatures(TransformerMixin, BaseEstimator):
    """Raw character attributes → model features (see module docstring).

    Args:
        min_category_count: categories seen fewer times in training become "Other".
        top_teams: number of most frequent teams that get an indicator column.
        top_creators: number of most frequent creators that get an indicator column.
    """

    def __init__(self, min_category_count: int = 50, top_teams: int = 20, top_creators: int = 20):
        self.min_category_count = min_category_count
        self.top_teams = top_teams
        self.top_creators = top_creators

    def fit(self, X: pd.DataFrame, y: Any = None) -> CharacterFeatures:
        """Learns category codes (rare → Other) and the frequent teams and creators."""
        frame = _as_frame(X)
        self.codes_: dict[str, dict[str, int]] = {}
        for column in CATEGORICAL:
            values = _column_values(frame, column)
            counts = Counter(values)
            kept = sorted(v for v, n in counts.items() if n >= self.min_category_count)
            vocabulary = [UNKNOWN, OTHER, *[v for v in kept if v not in (UNKNOWN, OTHER)]]
            self.codes_[column] = {v: i for i, v in enumerate(vocabulary)}
        self.teams_ = _most_common(frame["teams"], self.top_teams)
        self.creators_ = _most_common(frame["creators"], self.top_creators)
        self.feature_names_out_ = np.array(self._feature_names(), dtype=object)
        return self

    def _feature_names(self) -> list[str]:
        return [
            *CATEGORICAL,
            "is_magic",
            "is_mutant",
            "n_teams",
            "n_creators",
            "height_m",
            "weight_kg",
            "has_height",
            *[f"team:{t}" for t in self.teams_],
            *[f"creator:{c}" for c in self.creators_],
        ]

    @property
    def categorical_indices_(self) -> list[int]:
        """Positions of the categorical code columns (for LightGBM)."""
        return list(range(len(CATEGORICAL)))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns."""
        return self.feature_names_out_

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Vectorised transform: each per-value function runs once per distinct value."""
        frame = _as_frame(X)
        blocks = [
            _rows_by_value(frame[source], function, width)
            for source, function, width in self._value_blocks()
        ]
        return self._assemble(blocks, _numbers(frame["height_m"]), _numbers(frame["weight_kg"]))

    def transform_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The same features for plain dicts, without pandas (the server's hot path).

        Column by column, each value's features come from a bounded per-value memo, so
        repeated categories, origins, teams and creators are worked out once.
        """
        memo = self._records_memo()
        blocks = []
        for source, function, width in self._value_blocks():
            cache = memo[source]
            values = [r.get(source) for r in records]
            try:  # a hit costs one dict lookup; only strings and None are ever stored
                rows = [cache.get(v) or _memoised(cache, function, v) for v in values]
            except TypeError:  # an unhashable value
                rows = [function(v) for v in values]
            blocks.append(np.array(rows, dtype=np.float64).reshape(len(records), width))
        height = np.array([_number(r.get("height_m")) for r in records], dtype=np.float64)
        weight = np.array([_number(r.get("weight_kg")) for r in records], dtype=np.float64)
        return self._assemble(blocks, height, weight)

    def _value_blocks(self) -> list[tuple[str, Any, int]]:
        """(input column, value → tuple of features, width), in ``_assemble``'s order."""

        def category(column: str) -> Any:
            return lambda value: (float(self._code(column, NORMALISERS[column](value))),)

        return [
            *[(c, category(c), 1) for c in CATEGORICAL if c != "origin_group"],
            ("origin", self._origin_features, 3),
            ("teams", lambda v: _list_features(v, self.teams_), 1 + len(self.teams_)),
            ("creators", lambda v: _list_features(v, self.creators_), 1 + len(self.creators_)),
        ]

    def _origin_features(self, value: Any) -> tuple[float, float, float]:
        return (
            float(self._code("origin_group", origin_group(value))),
            is_magic(value),
            is_mutant(value),
        )

    @staticmethod
    def _assemble(blocks: list[np.ndarray], height: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """The feature matrix in ``feature_names_out_`` order from the per-column blocks."""
        *categories, origin, teams, creators = blocks
        numeric = [
            origin[:, 1:],
            teams[:, :1],
            creators[:, :1],
            height[:, None],
            weight[:, None],
            (~np.isnan(height)).astype(np.float64)[:, None],
        ]
        parts = [*categories, origin[:, :1], *numeric, teams[:, 1:], creators[:, 1:]]
        return np.ascontiguousarray(np.hstack(parts), dtype=np.float64)

    def _records_memo(self) -> dict[str, dict[str, tuple[float, ...]]]:
        memo = self.__dict__.get("_memo")
        if memo is None:
            memo = self.__dict__["_memo"] = {c: {} for c in RECORD_SOURCES}
        return memo

    def __getstate__(self) -> dict[str, Any]:
        """Pickles without the per-value memo of the record path."""
        state = super().__getstate__()
        state.pop("_memo", None)
        return state

    def _code(self, column: str, value: str) -> int:
        return self.codes_[column].get(value, 1 if value != UNKNOWN else 0)


RECORD_SOURCES = ("universe", "identity", "gender", "marital_status", "origin", "teams", "creators")
MEMO_SIZE = 4096
"""Distinct values remembered per input column by the record path (then it starts over)."""
MEMO_KEY_CHARS = 256
"""Longer values are not remembered (the memo's memory stays bounded)."""


def _memoised(cache: dict[str, Any], function: Any, value: Any) -> Any:
    """``function(value)``, remembered for None and short strings (not 1, 1.0 or True)."""
    if not (value is None or (type(value) is str and len(value) <= MEMO_KEY_CHARS)):
        return function(value)
    found = cache.get(value)
    if found is None:
        if len(cache) >= MEMO_SIZE:
            cache.clear()
        found = cache[value] = function(value)
    return found


def _list_features(value: Any, top: Sequence[str]) -> tuple[float, ...]:
    """Item count and one indicator per ``top`` item for a ';'-separated list."""
    items = split_list(value)
    present = set(items)
    return (float(len(items)), *[float(item in present) for item in top])


def _rows_by_value(series: pd.Series, function: Any, width: int) -> np.ndarray:
    """``function`` of each row's value as a (rows, width) matrix, once per distinct value."""
    distinct = _distinct_text(series)
    if distinct is None:  # not plain text: keep 1, 1.0, "1", None and NaN apart
        rows = series.map(_cached(series, function)).tolist()
        return np.array(rows, dtype=np.float64).reshape(len(series), width)
    codes, uniques = distinct
    table = [function(u) for u in uniques] + [function(None)]  # code -1 (missing): last
    return np.array(table, dtype=np.float64).reshape(-1, width)[codes]


def _distinct_text(series: pd.Series) -> tuple[np.ndarray, list[str]] | None:
    """Codes and distinct values of a column of strings with None/NaN as missing, else None."""
    if pd.api.types.infer_dtype(series, skipna=True) not in ("string", "empty"):
        return None
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    values = series.to_numpy(dtype=object)
    if not all(v is None or type(v) is float for v in values[codes < 0]):
        return None  # pd.NA, NaT...: the per-row path treats them as it always did
    if "\x00" in "".join(values[codes >= 0].tolist()):
        return None  # pandas' string hash table ends strings at NUL ("a\x00b" == "a\x00c")
    return codes, list(uniques)


def _as_frame(X: Any) -> pd.DataFrame:
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    missing = [c for c in INPUT_COLUMNS if c not in frame.columns]
    if missing:
        frame = frame.assign(**{c: None for c in missing})
    return frame


def _cached(series: pd.Series, function: Any) -> Any:
    """``function`` computed once per distinct value of ``series``, for Series.map.

    A callable, not a dict: a dict becomes an index, which cannot hold both None and NaN
    (hypothesis found a batch with both) and maps unmatched values to NaN.
    """
    cache: dict[Any, Any] = {}

    def lookup(value: Any) -> Any:
        key = ("nan",) if isinstance(value, float) and math.isnan(value) else (type(value), value)
        if key not in cache:
            cache[key] = function(value)
        return cache[key]

    return lookup


def _numbers(series: pd.Series) -> np.ndarray:
    """``_number`` over a column: the same parsing as the record path (inf is missing)."""
    if pd.api.types.is_float_dtype(series):
        values = series.to_numpy(dtype=float)
        return np.where(np.isfinite(values), values, np.nan)
    return series.map(_cached(series, _number)).to_numpy(dtype=float)


def _most_common(values: Iterable[Any], k: int) -> list[str]:
    counts = Counter(item for value in values for item in split_list(value))
    return [item for item, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


def _column_values(frame: pd.DataFrame, column: str) -> pd.Series:
    if column == "origin_group":
        source, function = frame["origin"], origin_group
    else:
        source, function = frame[column], NORMALISERS[column]
    return source.map(_cached(source, function))
