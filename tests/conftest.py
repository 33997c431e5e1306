"""Shared fixtures: one real local Spark session, a temporary copy of the project."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.spark_connect import start_connect_server, stop

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("conf", "pyproject.toml", "src", "uv.lock")


def uv_executable() -> str:
    """The uv that project.sh set up: ``MARVEL_UV``, else ``.tools/uv``, else uv on PATH.

    A fresh machine has no uv on PATH: project.sh installs it under ``.tools/uv/bin``.
    """
    candidates = [os.environ.get("MARVEL_UV"), str(PROJECT_ROOT / ".tools/uv/bin/uv")]
    for candidate in [*candidates, shutil.which("uv")]:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("uv not found: run the tests through `bash project.sh test`, which installs it")


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory):
    """A real Spark session through a local Spark Connect server (2 cores).

    The server is configured from conf/base/spark.yml. ``SPARK_REMOTE`` is exported for the
    rest of the test session, so in-process Kedro runs and subprocesses (the wheel's jobs)
    connect to the same server instead of starting classic sessions.
    """
    from marvel_mlops.adapters import spark as spark_adapter

    conf = yaml.safe_load((PROJECT_ROOT / "conf/base/spark.yml").read_text())
    server_conf = {k: str(v) for k, v in conf.items() if k != "spark.master"}
    log = tmp_path_factory.mktemp("spark-connect") / "server.log"
    server, url = start_connect_server(server_conf, log)
    os.environ["SPARK_REMOTE"] = url
    spark_adapter.configure(conf)
    session = spark_adapter.get_spark()
    yield session
    session.stop()
    os.environ.pop("SPARK_REMOTE", None)
    stop(server)


def copy_project(root: Path, names: tuple[str, ...] = PROJECT_FILES) -> Path:
    """Copies the named top-level files and folders of the project into ``root``.

    Caches, notebook checkpoints and ``conf/local`` (personal, git-ignored) are left out;
    an empty ``conf/local`` is created.
    """
    root.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.egg-info", "local")
    for name in names:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore)
        else:
            shutil.copy(source, root / name)
    (root / "conf/local").mkdir(exist_ok=True)
    return root


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary copy of the project (conf and code, no data), as the working directory."""
    root = copy_project(tmp_path / "project")
    for folder in ("data/01_raw", "data/lakehouse", "data/08_reporting", "data/mlflow"):
        (root / folder).mkdir(parents=True)
    monkeypatch.chdir(root)
    yield root


@pytest.fixture
def mlflow_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A real SQLite MLflow tracking store and registry in a temporary folder."""
    import mlflow

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment = mlflow.create_experiment("tests", artifact_location=str(tmp_path / "artifacts"))
    mlflow.set_experiment(experiment_id=experiment)
    yield uri
    mlflow.set_tracking_uri("")
    mlflow.set_registry_uri("")


@pytest.fixture(scope="session")
def small_characters():
    """Clean train/test frames (the data_processing output shape), generated small."""
    from tests.factories import clean_characters

    raw = clean_characters(6000, seed=21)
    return raw.iloc[:4500].reset_index(drop=True), raw.iloc[4500:].reset_index(drop=True)


def _end_active_mlflow_runs() -> None:
    """Ends runs left open (kedro-mlflow reopens runs per node); drops ones it cannot end."""
    import mlflow
    from mlflow.tracking import fluent

    for _ in range(50):
        if mlflow.active_run() is None:
            return
        try:
            mlflow.end_run()
        except Exception:  # noqa: BLE001 - its store may be gone with its tmp folder
            stack = fluent._active_run_stack.get()
            if not stack:
                return
            stack.pop()


@pytest.fixture(autouse=True)
def isolated_mlflow(tmp_path_factory: pytest.TempPathFactory):
    """Each test starts with no active run, and never on the refused ./mlruns file store."""
    import mlflow

    _end_active_mlflow_runs()
    if not mlflow.get_tracking_uri().startswith(("sqlite:", "http", "databricks")):
        default = f"sqlite:///{tmp_path_factory.getbasetemp()}/default-mlflow.db"
        mlflow.set_tracking_uri(default)
        mlflow.set_registry_uri(default)
    yield
    _end_active_mlflow_runs()
