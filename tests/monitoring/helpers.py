"""Real parts for monitoring tests: a trained champion in a SQLite registry, Delta tables."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pyarrow as pa

from marvel_mlops.adapters import delta, registry
from marvel_mlops.monitoring import traffic
from marvel_mlops.pipelines.training.nodes import snapshot_baseline
from tests.factories import register, train_model

MODEL_NAME = "marvel_character_model"


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
    model = train_model(train, seed=7, model_params={"n_estimators": 60, "num_leaves": 15})
    tags = {"train_set_table": table, "train_set_delta_version": str(version)}
    champion = register(model, MODEL_NAME, train, tags, experiment_id)
    registry.set_alias(MODEL_NAME, registry.CHAMPION, champion)
    baseline = snapshot_baseline(model, train, {"version": champion})
    delta.write_table(
        str(root.parent / "lakehouse" / "training_baseline"),
        pa.Table.from_pandas(baseline, preserve_index=False),
    )
    return {"uri": uri, "version": champion, "train_set": table}
