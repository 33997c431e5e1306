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
    "universe", "identity", "gender", "marital_status", "teams", "height_m", "weight_kg",
    "origin", "creators",
)  # fmt: skip


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
            *CATEGORICAL, "is_magic", "is_mutant", "n_teams", "n_creators", "height_m",
            "weight_kg", "has_height",
            *[f"team:{t}" for t in self.teams_], *[f"creator:{c}" for c in self.creators_],
        ]  # fmt: skip

    @property
    def categorical_indices_(self) -> list[int]:
        """Positions of the categorical code columns (for LightGBM)."""
        return list(range(len(CATEGORICAL)))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns."""
        return self.feature_names_out_

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Vectorised transform: each per-value function runs once per unique value."""
        frame = _as_frame(X)
        columns = [self._codes(column, _column_values(frame, column)) for column in CATEGORICAL]
        origin = frame["origin"].map(
            _cached(frame["origin"], lambda v: (is_magic(v), is_mutant(v)))
        )
        teams = frame["teams"].map(_cached(frame["teams"], split_list))
        creators = frame["creators"].map(_cached(frame["creators"], split_list))
        height = _numbers(frame["height_m"])
        weight = _numbers(frame["weight_kg"])
        numeric = [
            np.array([o[0] for o in origin]), np.array([o[1] for o in origin]),
            teams.map(len).to_numpy(dtype=float), creators.map(len).to_numpy(dtype=float),
            height, weight, (~np.isnan(height)).astype(float),
        ]  # fmt: skip
        team_sets, creator_sets = teams.map(set), creators.map(set)
        indicators = [
            team_sets.map(lambda s, t=t: t in s).to_numpy(dtype=float) for t in self.teams_
        ]
        indicators += [creator_sets.map(lambda s, c=c: c in s).to_numpy(dtype=float)
                       for c in self.creators_]  # fmt: skip
        return np.column_stack([*columns, *numeric, *indicators]).astype(np.float64)

    def transform_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The same features for plain dicts, in pure Python (the server's hot path)."""
        out = np.empty((len(records), len(self.feature_names_out_)), dtype=np.float64)
        for i, record in enumerate(records):
            out[i] = self._record_row(record)
        return out

    def _record_row(self, record: Mapping[str, Any]) -> list[float]:
        row = [float(self._code(c, _value_for(record, c))) for c in CATEGORICAL]
        origin = record.get("origin")
        teams, creators = split_list(record.get("teams")), split_list(record.get("creators"))
        height, weight = _number(record.get("height_m")), _number(record.get("weight_kg"))
        row += [is_magic(origin), is_mutant(origin), float(len(teams)), float(len(creators)),
                height, weight, float(not math.isnan(height))]  # fmt: skip
        team_set, creator_set = set(teams), set(creators)
        row += [float(t in team_set) for t in self.teams_]
        row += [float(c in creator_set) for c in self.creators_]
        return row

    def _code(self, column: str, value: str) -> int:
        return self.codes_[column].get(value, 1 if value != UNKNOWN else 0)

    def _codes(self, column: str, values: pd.Series) -> np.ndarray:
        codes = self.codes_[column]
        return values.map(lambda v: codes.get(v, 1 if v != UNKNOWN else 0)).to_numpy(dtype=float)


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


def _value_for(record: Mapping[str, Any], column: str) -> str:
    if column == "origin_group":
        return origin_group(record.get("origin"))
    return NORMALISERS[column](record.get(column))


def _column_values(frame: pd.DataFrame, column: str) -> pd.Series:
    if column == "origin_group":
        source, function = frame["origin"], origin_group
    else:
        source, function = frame[column], NORMALISERS[column]
    return source.map(_cached(source, function))


def _most_common(values: Iterable[Any], k: int) -> list[str]:
    counts = Counter(item for value in values for item in split_list(value))
    return [item for item, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]
