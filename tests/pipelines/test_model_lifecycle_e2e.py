"""data_processing → feature_engineering → training → evaluation → deployment through KedroSession, end to end.

A temporary copy of the project with a small generated raw file, the real local
lakehouse and the real SQLite registry: first run promotes, a rerun on the same data
does not, a forced promotion keeps the rollback target, rollback restores it.
"""

import json
import re
import subprocess
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from deltalake import DeltaTable
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from marvel_mlops import lineage
from marvel_mlops.adapters import registry

PIPELINES = ["data_processing", "feature_engineering", "training", "evaluation", "deployment"]
SMALL = {"raw_rows": 4000, "training": {"search": {"budget": 1, "folds": 2}}}
MODEL = "marvel_character_model"
HEX40, HEX64 = re.compile(r"[0-9a-f]{40}"), re.compile(r"[0-9a-f]{64}")
TAG_SHAPES = {  # what each lineage tag of a registered version must look like
    "git_commit": HEX40,
    "git_dirty": re.compile(r"true|false"),
    "kedro_run_id": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}\.\d{3}Z"),
    "uv_lock_sha256": HEX64,
    "train_set_delta_version": re.compile(r"\d+"),
    "test_set_delta_version": re.compile(r"\d+"),
    "decision_threshold": re.compile(r"0\.\d{6}"),
    "processing_run_id": re.compile(r"[0-9a-f]{16}"),
    "raw_file_sha256": HEX64,
}


def commit_project(project: Path) -> str:
    """Makes the copy a git checkout with one commit (the lineage reads the commit)."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], cwd=project, check=True)
    lineage.git_info.cache_clear()
    head = ["git", "rev-parse", "HEAD"]
    return subprocess.run(head, cwd=project, check=True, capture_output=True, text=True).stdout


def run(project: Path, pipelines=PIPELINES, **params) -> None:
    bootstrap_project(project)
    runtime = {**SMALL, **params}
    with KedroSession.create(project_path=project, env="local", runtime_params=runtime) as session:
        session.run(pipeline_names=pipelines)
    while mlflow.active_run():  # kedro-mlflow leaves node-level runs open in this process
        mlflow.end_run()


def table(project: Path, name: str) -> pd.DataFrame:
    return DeltaTable(str(project / "data/lakehouse" / name)).to_pandas()


def aliases() -> dict[str, str | None]:
    return {
        a: registry.version_for_alias(MODEL, a)
        for a in (registry.CHALLENGER, registry.CHAMPION, registry.PREVIOUS_CHAMPION)
    }


@pytest.mark.slow
def test_promote_rerun_force_and_rollback(project_copy: Path, spark):
    commit = commit_project(project_copy).strip()
    run(project_copy)
    mlflow.set_tracking_uri(f"sqlite:///{project_copy}/data/mlflow/mlflow.db")
    mlflow.set_registry_uri(f"sqlite:///{project_copy}/data/mlflow/mlflow.db")
    assert aliases() == {"challenger": "1", "champion": "1", "previous-champion": None}
    tags = registry.version_tags(MODEL, "1")
    for key, shape in TAG_SHAPES.items():
        assert shape.fullmatch(tags[key]), f"{key}={tags[key]!r}"
    assert tags["git_commit"] == commit
    summary_path = project_copy / "data/08_reporting/data_processing_summary.json"
    assert tags["processing_run_id"] == json.loads(summary_path.read_text())["processing_run_id"]
    assert tags["promotion_decision"] == "promote"
    test_rows = len(table(project_copy, "test_set"))
    predictions = table(project_copy, "predictions")
    assert len(predictions) == test_rows and set(predictions["model_version"]) == {"1"}
    assert predictions["probability"].between(0, 1).all()

    run(project_copy)  # same data, same seed: an identical model must not promote
    assert aliases() == {"challenger": "2", "champion": "1", "previous-champion": None}
    assert registry.version_tags(MODEL, "2")["promotion_decision"] == "reject"
    assert len(table(project_copy, "predictions")) == test_rows  # rerun adds nothing

    run(project_copy, evaluation={"mode": "disabled"})
    assert aliases() == {"challenger": "3", "champion": "3", "previous-champion": "1"}

    from marvel_mlops.cli.rollback import main as rollback_main

    assert rollback_main([]) == 0  # v3 loses every serving alias, challenger included
    assert aliases() == {"challenger": None, "champion": "1", "previous-champion": None}
    assert rollback_main([]) == 1  # nothing further back: said plainly, nothing changes
    assert aliases()["champion"] == "1"
    run(project_copy, pipelines=["deployment"])  # the old decision must not re-promote v3
    assert aliases()["champion"] == "1"

    log = table(project_copy, "deployments").sort_values("deployed_at_utc")
    assert list(log["action"]) == ["promote", "refuse", "promote", "rollback", "refuse"]
    assert list(log["model_version"]) == ["1", "2", "3", "1", "3"]
    assert log["deployment_id"].is_unique
    scored = table(project_copy, "predictions")
    assert not scored.duplicated(["page_id", "model_version"]).any()
    assert set(scored["model_version"]) == {"1", "3"}
