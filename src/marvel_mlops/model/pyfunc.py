"""The registered model: an MLflow pyfunc around the fitted scikit-learn pipeline.

It takes raw character attributes and returns, per row, ``probability`` (that the
character is alive), ``label`` (1 alive, 0 dead, at the threshold chosen on training
folds) and ``model_version``. The version is not known when the model is logged; it is
handed over at load time through ``model_config={"model_version": ...}`` by the
project's loaders, and reads "unregistered" otherwise.

The object is serialised by cloudpickle, the way MLflow stores every ``PythonModel``,
so the artifact is the same locally and on Databricks; the project's ``model`` package
travels with it (``code_paths``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel
from sklearn.pipeline import Pipeline

from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.model.looked_up import looked_up_columns
from marvel_mlops.model.scoring import BatchScorer

UNREGISTERED = "unregistered"


class MarvelCharacterModel(PythonModel):
    """Probability, label and model version for raw character attributes."""

    def __init__(self, pipeline: Pipeline, threshold: float) -> None:
        self.pipeline = pipeline
        self.threshold = float(threshold)
        self.model_version = UNREGISTERED

    def load_context(self, context: Any) -> None:
        """Takes the registered version from the loader's ``model_config``."""
        config = getattr(context, "model_config", None) or {}
        self.model_version = str(config.get("model_version", UNREGISTERED))

    @property
    def features(self) -> Any:
        """The fitted ``CharacterFeatures`` step."""
        return self.pipeline.named_steps["features"]

    @property
    def input_columns(self) -> list[str]:
        """The raw attributes, then any columns the model looks up in feature tables."""
        return [*INPUT_COLUMNS, *looked_up_columns(self.features)]

    @property
    def booster(self) -> Any:
        """The fitted LightGBM booster (for the server's hot path)."""
        return self.pipeline.named_steps["model"].booster_

    def scorer(self) -> BatchScorer:
        """The fitted steps, threshold and version, without MLflow (for Spark workers)."""
        return BatchScorer.of(self)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of being alive, per row of raw attributes.

        The fitted steps are called directly: the same numbers as
        ``pipeline.predict_proba(...)[:, 1]`` without scikit-learn's per-call checks.
        """
        return self.scorer().probabilities(frame)

    def predict_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The same probabilities without pandas: features in Python, the booster on NumPy."""
        return self.booster.predict(self.features.transform_records(records))

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        """MLflow's entry point: a frame of probability, label and model version."""
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.scorer().predict(frame)
