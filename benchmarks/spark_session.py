"""Classic local Spark vs a local Spark Connect server, on the data_processing pipeline.

The tests run every Spark-facing pipeline through Spark Connect (serverless fidelity);
`bash project.sh run` uses classic `local[*]` unless `spark.remote` / `SPARK_REMOTE` is
set. This prints both wall times (session start and, for Connect, server start included)
on a fresh copy of the project with a generated raw file of N rows.

    uv run python benchmarks/spark_session.py [--rows 92615]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.spark_connect import start_connect_server, stop  # noqa: E402

RUN = """
import sys
from pathlib import Path
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
root = Path(sys.argv[1])
bootstrap_project(root)
with KedroSession.create(project_path=root, runtime_params={"raw_rows": int(sys.argv[2])}) as s:
    s.run(pipeline_names=["data_processing"])
"""


def project_copy(where: Path, rows: int) -> Path:
    """conf + src in ``where``; the raw file generated once (not timed)."""
    for name in ("conf", "src", "pyproject.toml"):
        source = ROOT / name
        copy = shutil.copytree if source.is_dir() else shutil.copy
        copy(source, where / name)
    (where / "conf/local").mkdir(exist_ok=True)
    for folder in ("data/01_raw", "data/lakehouse", "data/08_reporting", "data/mlflow"):
        (where / folder).mkdir(parents=True)
    from marvel_mlops.data.generator import generate_raw, write_raw_csv

    write_raw_csv(generate_raw(n_rows=rows, seed=42), where / "data/01_raw/marvel_characters.csv")
    return where


def timed_run(rows: int, remote: str | None) -> float:
    """Wall seconds of one data_processing run in a fresh project copy."""
    with tempfile.TemporaryDirectory() as tmp:
        root = project_copy(Path(tmp), rows)
        env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
        env.pop("SPARK_REMOTE", None)
        if remote:
            env["SPARK_REMOTE"] = remote
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", RUN, str(root), str(rows)],
            env=env,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - started


def main() -> None:
    """Prints both wall times, the ratio, and a JSON last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=92_615)
    args = parser.parse_args()
    classic = timed_run(args.rows, None)
    conf = yaml.safe_load((ROOT / "conf/base/spark.yml").read_text())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_connect_server(
            {k: str(v) for k, v in conf.items() if k != "spark.master"}, Path(tmp) / "log"
        )
        server_start = time.perf_counter() - started
        try:
            connect = timed_run(args.rows, url)
        finally:
            stop(server)
    print(f"rows: {args.rows:,}  pipeline: data_processing")
    print(f"classic local Spark            {classic:7.1f} s")
    print(f"Spark Connect (server start)   {server_start:7.1f} s")
    print(f"Spark Connect (pipeline)       {connect:7.1f} s")
    total = server_start + connect
    print(f"ratio Connect (incl. server start) / classic: {total / classic:.2f}")
    result = {"rows": args.rows, "classic_s": round(classic, 2), "connect_s": round(connect, 2)}
    print(json.dumps(result | {"connect_server_start_s": round(server_start, 2)}))


if __name__ == "__main__":
    main()
