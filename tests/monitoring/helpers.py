"""Real parts for monitoring tests: a trained champion in a SQLite registry, Delta tables."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pyarrow as pa

from marvel_mlops.adapters import delta, registry
from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.model.pyfunc import MarvelCharacterModel
from marvel_mlops.model.training import build_pipeline, fit_pipeline
from marvel_mlops.monitoring import traffic
from marvel_mlops.pipelines.training.nodes import model_signature, snapshot_baseline

MODEL_NAME = "marvel_character_model"
FEATURES = {"min_category_count": 20, "top_teams": 8, "top_creators": 8}


def register_champion(root: Path, train_rows: int = 4000, seed: int = 5) -> dict:
    """Writes a train_set Delta table under ``root``, trains a small real model on it and
    registers it as champion, tagged with the table and its Delta version."""
    root.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{root}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment = mlflow.get_experiment_by_name("marvel_mlops")
    experiment_id = (
        experiment.experiment_id
        if experiment
        else mlflow.create_experiment("marvel_mlops", artifact_location=str(root / "artifacts"))
    )
    train = traffic.characters(train_rows, seed)
    table = str(root / "lakehouse" / "train_set")
    version = delta.write_table(table, pa.Table.from_pandas(train, preserve_index=False))
    pipeline = build_pipeline(FEATURES, {"n_estimators": 60, "num_leaves": 15}, seed=7)
    fit_pipeline(pipeline, train[list(INPUT_COLUMNS)], train["alive"].to_numpy())
    tags = {"train_set_table": table, "train_set_delta_version": str(version)}
    with mlflow.start_run(experiment_id=experiment_id):
        info = registry.log_and_register(
            MarvelCharacterModel(pipeline, 0.6),
            MODEL_NAME,
            model_signature(),
            train[list(INPUT_COLUMNS)].head(3),
            tags,
        )
    registry.set_alias(MODEL_NAME, registry.CHAMPION, info["version"])
    baseline = snapshot_baseline(MarvelCharacterModel(pipeline, 0.6), train, info)
    delta.write_table(
        str(root.parent / "lakehouse" / "training_baseline"),
        pa.Table.from_pandas(baseline, preserve_index=False),
    )
    return {"uri": uri, "version": info["version"], "train_set": table}
