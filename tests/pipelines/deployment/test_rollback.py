"""Rollback on a real SQLite registry: no alias left on a rolled-back version, a chain that
survives, and a plain one-line refusal (no MLflow run) when there is nothing to go back to."""

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from marvel_mlops.adapters import registry
from marvel_mlops.datasets import ModelAliasesDataset
from marvel_mlops.pipelines.deployment.nodes import NothingToRollBackError, plan_deployment
from tests.factories import register, train_model

NAME = "rollback_model"


def deploy(decision: dict, action: str) -> dict:
    """The deployment node between the real registry's alias datasets, as Kedro runs it."""
    aliases = ModelAliasesDataset(model_name=NAME)
    plan, after, event = plan_deployment(decision, aliases.load(), action)
    aliases.save(plan)
    assert aliases.load().aliases == after.aliases  # the node foresaw the registry's state
    return event


def aliases() -> dict[str, str | None]:
    return {
        a: registry.version_for_alias(NAME, a)
        for a in (registry.CHALLENGER, registry.CHAMPION, registry.PREVIOUS_CHAMPION)
    }


def promote(version: str) -> None:
    registry.set_alias(NAME, registry.CHALLENGER, version)  # as training does
    decision = {"promote": True, "challenger_version": version, "reasons": ["test"]}
    assert deploy(decision, "promote")["action"] == "promote"


def rollback() -> dict:
    return deploy({}, "rollback")


def test_rollback_clears_the_rolled_back_version_and_keeps_the_chain(
    mlflow_registry, small_characters
):
    train, _ = small_characters
    model = train_model(train.head(800))
    versions = [register(model, NAME, train) for _ in range(3)]
    for version in versions:
        promote(version)
    assert aliases() == {"challenger": "3", "champion": "3", "previous-champion": "2"}

    assert rollback()["model_version"] == "2"
    assert aliases() == {"challenger": None, "champion": "2", "previous-champion": "1"}
    assert registry.version_tags(NAME, "3")["rolled_back"] == "true"

    assert rollback()["model_version"] == "1"
    assert aliases() == {"challenger": None, "champion": "1", "previous-champion": None}

    with pytest.raises(NothingToRollBackError, match="no earlier champion to go back to"):
        rollback()
    assert aliases()["champion"] == "1"


def test_rollback_on_a_fresh_clone_says_so_in_one_line_and_records_no_run(project_copy: Path):
    result = subprocess.run(
        [sys.executable, "-m", "marvel_mlops.cli.main", "rollback"],
        check=False,
        cwd=project_copy,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"},
    )
    assert result.returncode == 1
    refusal = [line for line in result.stderr.splitlines() if "rollback" in line.lower()]
    assert refusal == [
        "marvel-mlops rollback: Nothing to roll back: marvel_character_model has no champion yet."
    ]
    assert "Traceback" not in result.stderr + result.stdout
    mlflow.set_tracking_uri(f"sqlite:///{project_copy}/data/mlflow/mlflow.db")
    runs = mlflow.search_runs(search_all_experiments=True)
    assert runs.empty or "FAILED" not in set(runs["status"])
