"""The README works as written: the documented commands exist and say what they do."""

import os
import re
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from marvel_mlops.cli.mlflow_ui import ui_links

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def test_readme_says_what_rollback_does_to_every_alias_and_how_to_get_a_second_champion():
    text = section("Serving and rollback")
    for alias in ("`champion`", "`challenger`", "`previous-champion`"):
        assert re.search(rf"^\* {alias}|{alias} (moves|alias)|if\s+it was also {alias}", text, re.M)
    assert "nothing further to roll back to" in text
    assert (
        "bash project.sh kedro run --pipelines training,evaluation,deployment "
        "--params evaluation.mode=disabled" in text
    )


def test_mlflow_links_point_at_the_experiment_and_the_registered_model():
    links = ui_links("http://127.0.0.1:5000/", "7", "marvel_character_model")
    assert links["experiment"] == "http://127.0.0.1:5000/#/experiments/7"
    assert links["model"] == "http://127.0.0.1:5000/#/models/marvel_character_model"
    assert "bash project.sh mlflow-ui" in README and "#/experiments/<id>" in README


@pytest.mark.slow
def test_mlflow_ui_command_prints_the_projects_experiment(project_copy: Path):
    command = [str(Path(sys.executable).parent / "marvel-mlops"), "mlflow-ui", "--print-only"]
    result = subprocess.run(
        command,
        cwd=project_copy,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    mlflow.set_tracking_uri(f"sqlite:///{project_copy}/data/mlflow/mlflow.db")
    experiment = mlflow.get_experiment_by_name("marvel_mlops")
    assert f"http://127.0.0.1:5000/#/experiments/{experiment.experiment_id}" in result.stdout
    assert "http://127.0.0.1:5000/#/models/marvel_character_model" in result.stdout
