"""Batch scoring throughput: the deployment pipeline's Spark step vs raw Booster.predict.

Scores the same N generated characters with ``score_batch`` (the champion in a pandas
UDF on local Spark, timed until every row is collected as Arrow) and with LightGBM's
``Booster.predict`` on a precomputed feature matrix (the floor: no feature work, no
Spark). Uses the local registry's champion (run `bash project.sh run` first).

    uv run python benchmarks/batch_scoring.py [--rows 500000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import mlflow
import yaml

from marvel_mlops.adapters import registry
from marvel_mlops.adapters import spark as spark_adapter
from marvel_mlops.data.generator import generate_characters
from marvel_mlops.data.schema import RAW_TO_CLEAN
from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.pipelines.deployment.nodes import score_batch

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Prints rows/s for both and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    args = parser.parse_args()
    uri = f"sqlite:///{ROOT}/data/mlflow/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    champion = registry.load_alias("marvel_character_model", registry.CHAMPION)
    if champion is None:
        raise SystemExit("No champion in data/mlflow: run `bash project.sh run` first")
    frame = generate_characters(args.rows, seed=5).rename(columns=RAW_TO_CLEAN)
    frame = frame.replace({"": None})[["page_id", *INPUT_COLUMNS]]

    spark_adapter.configure(yaml.safe_load((ROOT / "conf/base/spark.yml").read_text()))
    spark = spark_adapter.get_spark()
    batch = spark.createDataFrame(frame).cache()
    batch.count()
    start = time.perf_counter()
    scored = score_batch(batch, champion, {}).toArrow()
    spark_seconds = time.perf_counter() - start
    assert scored.num_rows == args.rows

    model = champion.python_model
    matrix = model.features.transform(frame)
    start = time.perf_counter()
    model.booster.predict(matrix)
    booster_seconds = time.perf_counter() - start
    start = time.perf_counter()
    model.booster.predict(model.features.transform(frame))
    with_features = time.perf_counter() - start

    print(f"rows: {args.rows:,}  champion: version {champion.version}")
    print(f"score_batch on Spark (pandas UDF)      {args.rows / spark_seconds:>12,.0f} rows/s")
    print(f"features + Booster.predict, 1 process  {args.rows / with_features:>12,.0f} rows/s")
    print(f"raw Booster.predict (features ready)   {args.rows / booster_seconds:>12,.0f} rows/s")
    print(f"ratio score_batch / raw Booster.predict: {booster_seconds / spark_seconds:.2f}")


if __name__ == "__main__":
    main()
