"""The wheel is the job: build it with ``kedro package``, install it into a fresh virtual
environment outside the repository, and run the pipelines from an unrelated directory
exactly as a Databricks ``python_wheel_task`` does (the task's own parameters, read from
the bundle, with the conf archive as ``--conf-source``).
"""

from __future__ import annotations

import email
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
import yaml
from deltalake import DeltaTable

from tests.conftest import PROJECT_ROOT, copy_project, uv_executable

PACKAGE = "marvel_mlops"
ARCHIVE = f"conf-{PACKAGE}.tar.gz"
COPIED = ("conf", "src", "scripts", "pyproject.toml", "uv.lock", "README.md")
GIT_COMMIT = "0123456789abcdef0123456789abcdef01234567"
GIT_BRANCH = "release/wheel-test"
# What the Databricks python_wheel_task runner does: find the entry point in the
# distribution's metadata, put the task parameters in sys.argv, call it.
WHEEL_TASK_RUNNER = """
import sys
from importlib import metadata
package, entry_point, *parameters = sys.argv[1:]
[target] = [e for e in metadata.distribution(package).entry_points if e.name == entry_point]
sys.argv = [entry_point, *parameters]
result = target.load()()
sys.exit(result if isinstance(result, int) else 0)
"""
# One plain log line: "2026-11-22 05:42:20,123 INFO kedro.runner...: message".
PLAIN_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: ")
# What kedro's RichHandler prints instead: "[11/22/26 05:42:20] INFO     message   file.py:12".
RICH_LOG_LINE = re.compile(r"^\[\d\d/\d\d/\d\d \d\d:\d\d:\d\d\] +[A-Z]+ ")

pytestmark = pytest.mark.slow


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 900):
    """Runs a command; on failure the assertion shows its output."""
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"
    )
    return result


@dataclass
class Packaged:
    wheel: Path
    archive: Path


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    """``kedro package`` in a temporary copy of the project (nothing lands in the repo)."""
    copy = copy_project(tmp_path_factory.mktemp("package") / "project", COPIED)
    (copy / "conf/local/credentials.yml").write_text("secret: must-not-be-packaged\n")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    run([sys.executable, "scripts/stamp_lock_digest.py"], cwd=copy, env=env)
    run([sys.executable, "-m", "kedro", "package"], cwd=copy, env=env)
    [wheel] = (copy / "dist").glob(f"{PACKAGE}-*-py3-none-any.whl")
    return Packaged(wheel=wheel, archive=copy / "dist" / ARCHIVE)


@pytest.fixture(scope="module")
def job_python(packaged: Packaged, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with only the wheel (+ the local extra for pyspark).

    Versions are constrained to uv.lock so that the install is reproducible (and comes
    from the uv cache); what gets installed is decided by the wheel's own metadata.
    """
    where = tmp_path_factory.mktemp("venv")
    constraints = where / "constraints.txt"
    run(
        [
            uv_executable(),
            "export",
            "--frozen",
            "--no-dev",
            "--extra",
            "local",
            "--no-emit-project",
            "--no-hashes",
            "--output-file",
            str(constraints),
        ],
        cwd=PROJECT_ROOT,
    )
    venv = where / "job-venv"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    run(
        [uv_executable(), "venv", "--quiet", "--python", sys.executable, str(venv)],
        cwd=where,
        env=env,
    )
    python = venv / "bin/python"
    run(
        [
            uv_executable(),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            "--constraint",
            str(constraints),
            f"{PACKAGE}[local] @ {packaged.wheel.as_uri()}",
        ],
        cwd=where,
        env=env,
        timeout=1800,
    )
    return python


def test_wheel_declares_runtime_dependencies_but_not_pyspark(packaged: Packaged):
    with zipfile.ZipFile(packaged.wheel) as wheel:
        names = wheel.namelist()
        [metadata_name] = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(wheel.read(metadata_name))
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert "marvel-mlops = marvel_mlops.cli.main:main" in wheel.read(entry_points).decode()
    requires = metadata.get_all("Requires-Dist")
    core = [r for r in requires if "extra ==" not in r]
    for needed in ("kedro", "kedro-datasets", "kedro-mlflow", "mlflow", "deltalake", "lightgbm"):
        assert any(re.match(rf"{needed}\b", r) for r in core), f"{needed} missing: {core}"
    assert not any(r.startswith("pyspark") for r in core), "a Databricks runtime brings Spark"
    assert any(r.startswith("pyspark") and 'extra == "local"' in r for r in requires)
    assert f"{PACKAGE}/pipelines/evaluation/pipeline.py" in names


def test_conf_archive_has_every_environment_but_no_local_secrets(packaged: Packaged):
    with tarfile.open(packaged.archive) as archive:
        members = set(archive.getnames())
    assert {"conf/base/catalog.yml", "conf/base/mlflow.yml"} <= members
    assert {"conf/databricks/catalog.yml", "conf/databricks/logging.yml"} <= members
    assert "conf/local/credentials.yml" not in members


def bundle_task_parameters(pipeline: str) -> list[str]:
    """The bundle's wheel task parameters for ``pipeline`` (resources/*.yml)."""
    tasks = [
        task
        for path in sorted((PROJECT_ROOT / "resources").glob("*_job.yml"))
        for job in yaml.safe_load(path.read_text())["resources"]["jobs"].values()
        for task in job["tasks"]
    ]
    [task] = [
        t
        for t in tasks
        if f"--pipelines={pipeline}" in t.get("python_wheel_task", {}).get("parameters", [])
    ]
    return task["python_wheel_task"]["parameters"]


def local_parameters(parameters: list[str], archive: Path, extra_params: str) -> list[str]:
    """The task's parameters with the workspace archive and catalog made local."""
    out = []
    for item in parameters:
        name, _, value = item.partition("=")
        if name == "--env":
            value = "local"  # Unity Catalog tables only exist on Databricks
        elif name == "--conf-source":
            assert value.endswith(f"/dist/{ARCHIVE}")
            value = str(archive)
        elif name == "--params":
            value = value.replace("${var.catalog}", "mlops_dev")
            value = value.replace("${bundle.target}", "dev").replace("{{job.run_id}}", "1")
            value = value + ("," + extra_params if extra_params else "")
        assert "${" not in value, f"unresolved bundle reference in {item}"
        out.append(f"{name}={value}")
    return out


@pytest.fixture(scope="module")
def job_run(packaged: Packaged, job_python: Path, tmp_path_factory: pytest.TempPathFactory, spark):
    """Runs every wheel task of the bundle, in job order, in an empty directory.

    Spark goes through the test session's Spark Connect server (``SPARK_REMOTE``), as on
    serverless compute. Evaluation runs with checks disabled so that deployment (which
    the job runs only after a promotion) has a champion to deploy.
    """
    workdir = tmp_path_factory.mktemp("job") / "cwd"
    workdir.mkdir()
    logging_config = workdir.parent / "logging.yml"
    with tarfile.open(packaged.archive) as archive:
        logging_config.write_bytes(
            archive.extractfile("conf/databricks/logging.yml").read()  # type: ignore[union-attr]
        )
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")},
        "PATH": f"{job_python.parent}{os.pathsep}{os.environ['PATH']}",
        "PYSPARK_PYTHON": str(job_python),
        "KEDRO_DISABLE_TELEMETRY": "true",
        "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
        "KEDRO_LOGGING_CONFIG": str(logging_config),
        "MARVEL_GIT_COMMIT": GIT_COMMIT,
        "MARVEL_GIT_BRANCH": GIT_BRANCH,
    }
    extra = {
        "data_processing": "raw_rows=3000",
        "feature_engineering": "",
        "training": "training.search.budget=1,training.search.folds=2",
        "evaluation": "evaluation.bootstrap.n_resamples=50,evaluation.mode=disabled",
        "deployment": "",
        "endpoint_ingestion": "",  # no endpoint inference table here: nothing to ingest
        "monitoring": "",
    }
    outputs = {}
    for pipeline, extra_params in extra.items():
        parameters = local_parameters(
            bundle_task_parameters(pipeline), packaged.archive, extra_params
        )
        result = run(
            [str(job_python), "-c", WHEEL_TASK_RUNNER, PACKAGE, "marvel-mlops", *parameters],
            cwd=workdir,
            env=env,
            timeout=1800,
        )
        outputs[pipeline] = result.stdout + result.stderr
    return workdir, outputs


def test_pipelines_run_from_the_wheel_in_an_unrelated_directory(job_run):
    workdir, _ = job_run
    lakehouse = workdir / "data/lakehouse"
    train, test = (DeltaTable(str(lakehouse / t)).to_pandas() for t in ("train_set", "test_set"))
    assert len(train) > len(test) > 0
    assert not set(train["page_id"]) & set(test["page_id"])
    assert (workdir / "data/01_raw/marvel_characters.csv").exists()
    assert not (PROJECT_ROOT / "dist").exists(), "packaging must not touch the repository"

    uri = f"sqlite:///{workdir / 'data/mlflow/mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    [model] = client.search_registered_models()
    version = client.get_model_version_by_alias(model.name, "challenger")
    assert version.tags["git_commit"] == GIT_COMMIT
    lock = hashlib.sha256((PROJECT_ROOT / "uv.lock").read_bytes()).hexdigest()
    assert version.tags["uv_lock_sha256"] == lock
    assert version.tags["git_branch"] == GIT_BRANCH
    decision = yaml.safe_load(
        (workdir / "data/08_reporting/evaluation/promotion_decision.json").read_text()
    )
    assert isinstance(decision["promote"], bool)
    assert str(decision["challenger_version"]) == str(version.version)

    # deployment: the challenger became champion, the test set was batch-scored.
    assert client.get_model_version_by_alias(model.name, "champion").version == version.version
    predictions = DeltaTable(str(lakehouse / "predictions")).to_pandas()
    assert set(predictions["page_id"]) == set(test["page_id"])
    assert set(predictions["model_version"]) == {str(version.version)}
    # monitoring: standalone, nothing served yet, the job still succeeds and says so.
    trigger = yaml.safe_load(
        (workdir / "data/08_reporting/monitoring/retraining_trigger.json").read_text()
    )
    assert trigger["retrain"] is False


def test_job_logs_are_plain_console_lines(job_run):
    """conf/databricks/logging.yml: one plain line per record, no rich layout or colours."""
    _, outputs = job_run
    for pipeline, output in outputs.items():
        lines = output.splitlines()
        logged = [line for line in lines if PLAIN_LOG_LINE.match(line)]
        if pipeline == "monitoring":
            assert any("nothing to monitor" in line for line in logged), output[-3000:]
        assert any("Pipeline execution completed successfully" in line for line in logged), (
            f"{pipeline}: no plain completion line in\n{output[-3000:]}"
        )
        assert not [line for line in logged if "\x1b[" in line], "colour codes in log lines"
        rich_lines = [line for line in lines if RICH_LOG_LINE.match(line)]
        assert not rich_lines, f"{pipeline}: rich handler output: {rich_lines[:3]}"
