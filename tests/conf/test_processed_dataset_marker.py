"""The processed-dataset rule holds in both homes: the summary is the commit marker that
training and evaluation check, under conf/base and conf/databricks alike."""

from pathlib import Path

import pytest
import yaml

from marvel_mlops.pipelines.evaluation import create_pipeline as evaluation
from marvel_mlops.pipelines.training import create_pipeline as training

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.mark.parametrize("env", ["base", "databricks"])
def test_the_summary_is_an_atomic_commit_marker(env):
    entry = yaml.safe_load((CONF / env / "catalog.yml").read_text())["data_processing_summary"]
    assert entry["type"] == "marvel_mlops.datasets.JSONMarkerDataset"


@pytest.mark.parametrize("create", [training, evaluation])
def test_every_node_reads_the_tables_only_through_the_check(create):
    pipeline = create()
    check = next(n for n in pipeline.nodes if n.name == "verify_processed_dataset")
    assert set(check.inputs) == {"train_set@pandas", "test_set@pandas", "data_processing_summary"}
    others = [n for n in pipeline.nodes if n is not check]
    assert not {"train_set@pandas", "test_set@pandas"} & {i for n in others for i in n.inputs}
