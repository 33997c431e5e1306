"""Lineage of a training run to its Delta inputs, in a real SQLite MLflow store."""

import json

import mlflow
import pandas as pd

from marvel_mlops.adapters import registry


def test_unity_catalog_tables_are_recorded_by_name_and_local_tables_by_path(mlflow_registry):
    train = pd.DataFrame({"page_id": ["a", "b"], "alive": [1, 0]})
    uc = {"table": "mlops_acc.marvel_characters.train_set", "version": 7}
    local = {"table": "/tmp/lakehouse/test_set", "version": 3}
    with mlflow.start_run() as run:
        registry.log_training_context(train, uc, local, {"num_leaves": 15}, {"k": "v"})
    inputs = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    sources = {i.dataset.name: json.loads(i.dataset.source) for i in inputs}
    assert sources["train_set"]["delta_table_name"] == "mlops_acc.marvel_characters.train_set"
    assert sources["train_set"]["delta_table_version"] == 7
    assert sources["train_set"].get("path") is None
    assert sources["test_set"]["path"] == "/tmp/lakehouse/test_set"
    assert sources["test_set"].get("delta_table_name") is None
