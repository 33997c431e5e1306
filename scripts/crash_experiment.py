"""Kill data_processing (SIGKILL) at chosen moments, then run training; report each outcome.

Usage: uv run python scripts/crash_experiment.py [--rows 3000]

In a temporary copy of the project: a completed data_processing run on file A, then file
B and a run killed when its log reaches a moment (a node start, a table save, the
summary save) plus a delay. After each kill, training runs with a tiny search budget.
Each trial must end with consistent tables (one run id everywhere, the summary naming
it, the rows adding up) or with training refusing them with the rerun message. The last
line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deltalake import DeltaTable

ROOT = Path(__file__).resolve().parents[1]
MOMENTS = [  # (log marker, delay in seconds after it)
    ("Running node: split_train_test", 0.0),
    ("Saving data to train_set@spark", 1.5),
    ("Saving data to test_set@spark", 0.5),
    ("Saving data to rejected_characters", 1.0),
    ("Saving data to data_processing_summary", 0.0),
    ("Running node: deduplicate_characters", 0.0),
    ("Saving data to data_processing_summary", 1.0),
]
TABLES = ("train_set", "test_set", "rejected_characters")
ENV = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "COLUMNS": "250"}
KEDRO = [sys.executable, "-m", "kedro", "run"]


def copy_project(root: Path) -> None:
    for name in ("conf", "src", "pyproject.toml", "uv.lock"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("local"))
        else:
            shutil.copy(source, root / name)
    (root / "conf/local").mkdir()
    for folder in ("01_raw", "lakehouse", "08_reporting", "mlflow"):
        (root / "data" / folder).mkdir(parents=True, exist_ok=True)


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*KEDRO, *args], cwd=root, env=ENV, capture_output=True, text=True, check=False
    )


def killed_run(root: Path, marker: str, delay: float) -> bool:
    """Starts data_processing and SIGKILLs its process group at the marker (+ delay)."""
    process = subprocess.Popen(
        [*KEDRO, "--pipelines", "data_processing"],
        cwd=root,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = False
    for line in process.stdout:
        if marker in line:
            seen = True
            time.sleep(delay)
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return seen


def state(root: Path) -> dict:
    """Run ids per table, the summary's run id, and whether the rows add up."""
    ids, rows = {}, 0
    for table in TABLES:
        frame = DeltaTable(str(root / "data/lakehouse" / table)).to_pandas()
        ids[table] = sorted(frame["processing_run_id"].dropna().unique().tolist())
        rows += len(frame)
    summary_path = root / "data/08_reporting/data_processing_summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    expected = summary.get("processing_run_id")
    consistent = all(v == [expected] for v in ids.values()) and rows == summary.get("rows_read")
    return {"run_ids": ids, "summary_run_id": expected, "consistent": consistent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        copy_project(root)
        from marvel_mlops.data.generator import generate_raw, write_raw_csv

        raw = root / "data/01_raw/marvel_characters.csv"
        write_raw_csv(generate_raw(args.rows, seed=1), raw)
        assert run(root, "--pipelines", "data_processing").returncode == 0
        snapshot = Path(tmp) / "snapshot"
        shutil.copytree(root / "data", snapshot)
        results = []
        for marker, delay in MOMENTS:
            shutil.rmtree(root / "data")
            shutil.copytree(snapshot, root / "data")
            write_raw_csv(generate_raw(args.rows + 1000, seed=2), raw)
            reached = killed_run(root, marker, delay)
            before = state(root)
            training = run(
                root,
                "--pipelines",
                "training",
                "--params",
                "training.search.budget=1,training.search.folds=2",
            )
            output = training.stdout + training.stderr
            refused = "Refusing train_set/test_set" in output and "Rerun data_processing" in output
            outcome = {
                "moment": f"{marker} +{delay}s",
                "marker_reached": reached,
                **before,
                "training_exit": training.returncode,
                "training_refused": refused,
                "ok": (before["consistent"] and training.returncode == 0)
                or (not before["consistent"] and refused),
            }
            print(json.dumps(outcome), flush=True)
            results.append(outcome)
    print(json.dumps({"trials": len(results), "ok": sum(r["ok"] for r in results)}))


if __name__ == "__main__":
    main()
