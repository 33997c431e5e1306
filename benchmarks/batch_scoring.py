"""Batch scoring throughput, Delta in and out, against raw ``Booster.predict``.

Times the deployment pipeline's batch scoring the way ``bash project.sh run`` does it:
the input is read from a Delta table through the catalog's dataset type
(``SparkDeltaTableDataset``, as ``scoring_input``), scored by ``score_batch`` on local
Spark, and the scored rows are written by the ``predictions`` dataset (same type and
``save_args`` as ``conf/base/catalog.yml``) into a fresh Delta table. The peer, measured
in the same run on the same rows, is LightGBM's ``Booster.predict`` on a feature matrix
computed beforehand (no feature work, no Spark, no I/O). Also printed: features +
``Booster.predict`` in one process (no Spark, no I/O). Uses the local registry's champion
(run ``bash project.sh run`` first) or ``--tracking-uri``.

    uv run python benchmarks/batch_scoring.py [--rows 500000] [--repeat 2]

Target (issue 12): the Delta-to-Delta pipeline at >= 0.5x raw ``Booster.predict``.
The last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import mlflow
import numpy as np
import pyarrow as pa
import yaml
from deltalake import DeltaTable

from marvel_mlops.adapters import delta, registry
from marvel_mlops.adapters import spark as spark_adapter
from marvel_mlops.data.generator import generate_characters
from marvel_mlops.data.schema import RAW_TO_CLEAN
from marvel_mlops.datasets import SparkDeltaTableDataset
from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.pipelines.deployment.nodes import score_batch

ROOT = Path(__file__).resolve().parents[1]


def catalog_entry(name: str) -> dict:
    """``name``'s entry in conf/base/catalog.yml."""
    return yaml.safe_load((ROOT / "conf/base/catalog.yml").read_text())[name]


def write_input(where: Path, rows: int) -> Path:
    """The characters to score as a Delta table (not timed)."""
    frame = generate_characters(rows, seed=5).rename(columns=RAW_TO_CLEAN)
    frame = frame.replace({"": None})[["page_id", *INPUT_COLUMNS]]
    delta.write_table(where, pa.Table.from_pandas(frame, preserve_index=False))
    return where


def pipeline_seconds(source: Path, target: Path, champion) -> float:
    """Delta → ``score_batch`` → Delta through the catalog's dataset types."""
    shutil.rmtree(target, ignore_errors=True)
    predictions = catalog_entry("predictions")
    reader = SparkDeltaTableDataset(filepath=str(source))
    writer = SparkDeltaTableDataset(filepath=str(target), save_args=predictions["save_args"])
    start = time.perf_counter()
    deployed = {"action": "promote", "model_version": champion.version}  # what deployment says
    writer.save(score_batch(reader.load(), champion, deployed, None))
    return time.perf_counter() - start


def best_seconds(function, repeat: int) -> float:
    """The fastest of ``repeat`` timed calls."""
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    """Prints rows/s for each path, the ratio, and a JSON last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs each; the best counts")
    parser.add_argument("--tracking-uri", default=f"sqlite:///{ROOT}/data/mlflow/mlflow.db")
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_registry_uri(args.tracking_uri)
    champion = registry.load_alias("marvel_character_model", registry.CHAMPION)
    if champion is None:
        raise SystemExit("No champion in data/mlflow: run `bash project.sh run` first")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers import the project
    spark_adapter.configure(yaml.safe_load((ROOT / "conf/base/spark.yml").read_text()))
    spark_adapter.get_spark()
    workdir = Path(tempfile.mkdtemp(prefix="marvel_batch_"))
    try:
        source = write_input(workdir / "scoring_input", args.rows)
        target = workdir / "predictions"
        pipeline_seconds(source, target, champion)  # warm-up: JVM, Python workers
        timings = [pipeline_seconds(source, target, champion) for _ in range(args.repeat)]
        spark_seconds = min(timings)
        scored = DeltaTable(str(target)).to_pandas(columns=["page_id", "probability"])
        frame = DeltaTable(str(source)).to_pandas()
        model = champion.python_model
        matrix = model.features.transform(frame)
        booster_seconds = best_seconds(lambda: model.booster.predict(matrix), args.repeat)
        with_features = best_seconds(
            lambda: model.booster.predict(model.features.transform(frame)), args.repeat
        )
        expected = model.predict_proba(frame)
        got = scored.set_index("page_id")["probability"].reindex(frame["page_id"]).to_numpy()
        identical = bool(np.array_equal(got, expected))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert len(scored) == args.rows, f"{len(scored)} rows written for {args.rows}"
    ratio = booster_seconds / spark_seconds
    load = os.getloadavg()
    print(f"rows: {args.rows:,}  champion: version {champion.version}  "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
    print(f"Delta -> score_batch (Spark) -> Delta   {args.rows / spark_seconds:>12,.0f} rows/s")
    print(f"features + Booster.predict, 1 process   {args.rows / with_features:>12,.0f} rows/s")
    print(f"raw Booster.predict (features ready)    {args.rows / booster_seconds:>12,.0f} rows/s")
    print(f"ratio Delta-to-Delta scoring / raw Booster.predict: {ratio:.2f} (target >= 0.5)")
    print(f"predictions identical to the pyfunc: {identical}")
    result = {
        "rows": args.rows,
        "delta_to_delta_rows_per_s": round(args.rows / spark_seconds),
        "features_and_predict_rows_per_s": round(args.rows / with_features),
        "raw_booster_rows_per_s": round(args.rows / booster_seconds),
        "ratio": round(ratio, 3),
        "identical_to_pyfunc": identical,
        "pipeline_seconds": [round(t, 2) for t in timings],
        "load_average": [round(x, 2) for x in load],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
