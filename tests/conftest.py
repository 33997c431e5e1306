"""Shared fixtures: one real local Spark session, a temporary copy of the project."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("conf", "pyproject.toml", "src", "uv.lock")


@pytest.fixture(scope="session")
def spark():
    """A real local Spark session configured from conf/base/spark.yml (2 cores)."""
    from marvel_mlops.adapters import spark as spark_adapter

    conf = yaml.safe_load((PROJECT_ROOT / "conf/base/spark.yml").read_text())
    conf["spark.master"] = "local[2]"
    spark_adapter.configure(conf)
    session = spark_adapter.get_spark()
    yield session


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary copy of the project (conf and code, no data), as the working directory."""
    root = tmp_path / "project"
    root.mkdir()
    for name in PROJECT_FILES:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    for folder in ("data/01_raw", "data/lakehouse", "data/08_reporting", "data/mlflow"):
        (root / folder).mkdir(parents=True)
    (root / "conf/local").mkdir(exist_ok=True)
    monkeypatch.chdir(root)
    yield root
