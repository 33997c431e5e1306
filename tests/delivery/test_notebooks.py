"""The walkthrough notebooks run headlessly (nbclient, a real kernel) on a copy of the
project, in order, each driving the project through ``%load_ext kedro.ipython``.

Small runtime params keep it quick (``MARVEL_NOTEBOOK_PARAMS``); everything else is the
embedded default configuration. Executed notebooks are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from deltalake import DeltaTable
from nbclient import NotebookClient

from tests.conftest import PROJECT_ROOT, copy_project

NOTEBOOKS = sorted(p.name for p in (PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "notebooks"
SMALL = (
    "raw_rows=3000,training.search.budget=1,training.search.folds=2,"
    "evaluation.bootstrap.n_resamples=50"
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project copy shared by the notebooks, which build on each other's results."""
    names = ("conf", "src", "notebooks", "pyproject.toml", "uv.lock")
    return copy_project(tmp_path_factory.mktemp("notebooks") / "project", names)


def execute(project: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("MARVEL_NOTEBOOK_PARAMS", SMALL)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    notebook = nbformat.read(project / "notebooks" / name, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=1200,
        kernel_name="python3",
        resources={"metadata": {"path": str(project / "notebooks")}},
    )
    try:
        client.execute()
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, ARTIFACTS / name)
    return notebook


def text_outputs(notebook: nbformat.NotebookNode) -> str:
    chunks = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            chunks.append(output.get("text", ""))
            chunks.append(json.dumps(output.get("data", {})))
    return "\n".join(chunks)


def test_every_stage_has_a_notebook():
    assert [n[:2] for n in NOTEBOOKS] == ["01", "02", "03", "04"]
    for name in NOTEBOOKS:
        notebook = nbformat.read(PROJECT_ROOT / "notebooks" / name, as_version=4)
        nbformat.validate(notebook)
        sources = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
        assert "%load_ext kedro.ipython" in sources
        assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), (
            f"{name} is committed with outputs"
        )


def test_01_explore_raw_data(project, monkeypatch):
    out = text_outputs(execute(project, NOTEBOOKS[0], monkeypatch))
    assert re.search(r"[\d,]+ rows, \d+ columns", out), out[:2000]
    assert (project / "data/lakehouse/train_set/_delta_log").is_dir()


def test_02_mlflow_run_and_registry(project, monkeypatch):
    out = text_outputs(execute(project, NOTEBOOKS[1], monkeypatch))
    assert "marvel_character_model v1 from run" in out
    assert "git_commit" in out and "challenger" in out


def test_03_call_the_server(project, monkeypatch):
    out = text_outputs(execute(project, NOTEBOOKS[2], monkeypatch))
    assert '\\"predictions\\"' in out or "'predictions'" in out
    assert "server stopped" in out
    logged = DeltaTable(str(project / "data/lakehouse/inference_log")).to_pandas()
    assert {"Notebook_Hero_(Earth-616)", "Notebook_Villain_(Earth-616)"} <= set(logged["page_id"])


def test_04_monitoring_tables(project, monkeypatch):
    execute(project, NOTEBOOKS[3], monkeypatch)
    for table in (
        "monitoring_profile_metrics",
        "monitoring_drift_metrics",
        "monitoring_performance_metrics",
        "monitoring_alerts",
    ):
        assert len(DeltaTable(str(project / "data/lakehouse" / table)).to_pandas()) > 0, table
