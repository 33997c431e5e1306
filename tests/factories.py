"""One way to make what tests need: clean characters, a small real model, a registered version."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
from kedro.io import MemoryDataset

from marvel_mlops.adapters import registry
from marvel_mlops.data.generator import generate_characters
from marvel_mlops.data.schema import LABEL_COLUMN, RAW_TO_CLEAN
from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.model.looked_up import looked_up_columns
from marvel_mlops.model.pyfunc import MarvelCharacterModel
from marvel_mlops.model.training import build_pipeline, fit_pipeline
from marvel_mlops.pipelines.training.nodes import model_signature

FEATURES = {"min_category_count": 20, "top_teams": 8, "top_creators": 8}
SMALL_MODEL = {"n_estimators": 80, "learning_rate": 0.1, "num_leaves": 15}


def clean_characters(n_rows: int, seed: int) -> pd.DataFrame:
    """Generated characters shaped like data_processing's output: clean column names,
    blanks as missing values, ``alive`` as 0/1."""
    frame = generate_characters(n_rows, seed).rename(columns=RAW_TO_CLEAN)
    frame[LABEL_COLUMN] = (frame[LABEL_COLUMN].str.lower() == "alive").astype(int)
    return frame.replace({"": None})


def train_model(
    train: pd.DataFrame,
    *,
    seed: int = 42,
    model_params: dict | None = None,
    threshold: float = 0.6,
    label_noise: float = 0.0,
    features: dict | None = None,
) -> MarvelCharacterModel:
    """A real fitted model (optionally trained on partly shuffled labels)."""
    y = train[LABEL_COLUMN].to_numpy().copy()
    if label_noise:
        rng = np.random.default_rng(seed)
        flip = rng.random(len(y)) < label_noise
        y[flip] = rng.permutation(y[flip])
    features = features or FEATURES
    pipeline = build_pipeline(features, model_params or SMALL_MODEL, seed)
    columns = [*INPUT_COLUMNS, *features.get("looked_up", ())]  # looked-up columns: appended
    return MarvelCharacterModel(fit_pipeline(pipeline, train[columns], y), threshold)


def register(
    model: MarvelCharacterModel,
    name: str,
    train: pd.DataFrame,
    tags: dict[str, str] | None = None,
    experiment_id: str | None = None,
) -> str:
    """Logs and registers ``model`` in the active registry, in a run of its own; returns the
    version."""
    with mlflow.start_run(experiment_id=experiment_id):
        info = registry.log_and_register(
            model,
            name,
            model_signature(looked_up_columns(model.features)),
            train.reindex(columns=model.input_columns).head(3),
            tags or {"test": "yes"},
        )
    return info["version"]


class KeptDataset(MemoryDataset):
    """A MemoryDataset the runner cannot release, so a test reads intermediate results."""

    def _release(self) -> None:
        pass
