"""Model features from the raw attributes plus columns looked up in feature tables.

Part of the ``model`` package because it travels with the registered model (MLflow
``code_paths``): a model that takes looked-up columns loads wherever the pyfunc loads.

Wraps ``CharacterFeatures`` (row-local transforms, unchanged) and appends the named
looked-up columns as numbers, so the model's matrix is the same whether a row comes
from a training set (a frame) or from the server (a dict with the looked-up values).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from marvel_mlops.model.features import CharacterFeatures


def looked_up_columns(features: Any) -> tuple[str, ...]:
    """The feature-table columns a fitted features step takes (none for ``CharacterFeatures``
    and for model versions logged before feature tables existed)."""
    return tuple(getattr(features, "looked_up", ()))


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


class WithLookedUpFeatures(TransformerMixin, BaseEstimator):
    """``CharacterFeatures`` followed by ``looked_up`` numeric columns.

    Args:
        looked_up: feature-table columns appended as they are (missing → NaN).
        **character_params: ``CharacterFeatures`` arguments.
    """

    def __init__(
        self,
        looked_up: tuple[str, ...] = (),
        min_category_count: int = 50,
        top_teams: int = 20,
        top_creators: int = 20,
    ) -> None:
        self.looked_up = tuple(looked_up)
        self.min_category_count = min_category_count
        self.top_teams = top_teams
        self.top_creators = top_creators

    def fit(self, X: pd.DataFrame, y: Any = None) -> WithLookedUpFeatures:
        """Fits the row-local features; the looked-up columns need no fitting."""
        self.base_ = CharacterFeatures(self.min_category_count, self.top_teams, self.top_creators)
        self.base_.fit(X)
        names = [*self.base_.get_feature_names_out(), *self.looked_up]
        self.feature_names_out_ = np.array(names, dtype=object)
        return self

    @property
    def categorical_indices_(self) -> list[int]:
        """The categorical code columns (all in the row-local part)."""
        return self.base_.categorical_indices_

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Row-local feature names, then the looked-up columns."""
        return self.feature_names_out_

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The row-local matrix with the looked-up columns appended."""
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        extra = [
            pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
            if c in frame
            else np.full(len(frame), np.nan)
            for c in self.looked_up
        ]
        return np.column_stack([self.base_.transform(frame), *extra]).astype(np.float64)

    def transform_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The same matrix for plain dicts (the server's hot path)."""
        base = self.base_.transform_records(records)
        if not self.looked_up:
            return base
        extra = np.array([[_number(r.get(c)) for c in self.looked_up] for r in records])
        return np.hstack([base, extra.reshape(len(records), len(self.looked_up))])
