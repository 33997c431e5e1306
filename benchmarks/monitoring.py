"""Monitoring benchmark: our Spark pipeline vs Evidently's DataDriftPreset, same data.

For each size N: a reference Delta table of N scored training-like rows and an
``inference_log`` Delta table of N generated inference rows (24 hourly windows, the last
third drifted; labels for half of the rows). Then, each in a fresh Python process so that
start-up is counted:

* ours: Spark session start + the monitoring pipeline's nodes (window selection, value
  sketch, baseline sketch, label metrics, profile, drift, alerts, trigger, HTML report,
  Prometheus registry) reading the Delta tables with Spark's Parquet reader;
* Evidently 0.7.23: reading the same two tables into pandas + ``Report([DataDriftPreset()])``
  over the same 10 columns (7 categorical, 2 numeric features, the probability).

    uv run --frozen --no-sync python benchmarks/monitoring.py --sizes 1000000 5000000

``--sides ours`` times our side alone (to iterate without Evidently's minutes);
``--data DIR`` keeps the generated tables in ``DIR/<rows>`` and reuses them next time.
The last line printed is the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

CATEGORICAL = ["universe", "identity", "gender", "marital_status", "teams", "origin", "creators"]
NUMERIC = ["height_m", "weight_kg", "probability"]
WINDOWS = 24
UNIQUE_ROWS = 250_000


def _scored(n: int, seed: int, drift: dict | None, model) -> pd.DataFrame:
    from marvel_mlops.model.features import INPUT_COLUMNS
    from marvel_mlops.monitoring import traffic

    frame = traffic.characters(n, seed, drift)
    frame["probability"] = model.predict_proba(frame[list(INPUT_COLUMNS)])[:, 1]
    frame["label"] = (frame["probability"] >= 0.6).astype("int32")
    return frame


def _tile(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    reps = -(-n // len(frame))
    out = pd.concat([frame] * reps, ignore_index=True).head(n).copy()
    out["page_id"] = out["page_id"] + "#" + (np.arange(n) // len(frame)).astype(str)
    return out


def prepare(root: Path, n: int) -> None:
    """Writes the reference, inference_log and ground_truth tables (not timed)."""
    from marvel_mlops.adapters import delta
    from marvel_mlops.model.features import INPUT_COLUMNS
    from marvel_mlops.model.training import build_pipeline, fit_pipeline
    from marvel_mlops.monitoring import traffic

    train = traffic.characters(6000, 3)
    model = fit_pipeline(
        build_pipeline({"min_category_count": 20}, {"n_estimators": 80}, seed=7),
        train[list(INPUT_COLUMNS)],
        train["alive"].to_numpy(),
    )
    unique = min(n, UNIQUE_ROWS)
    reference = _tile(_scored(unique, 1, None, model), n)
    clean = _scored(unique, 2, None, model)
    drifted = _scored(
        unique,
        3,
        {"marginals": {"Gender": {"Female": 0.6, "Male": 0.4}}, "height_shift": 0.3},
        model,
    )
    current = _tile(clean, n)
    cut = n * 2 // 3
    current.iloc[cut:] = _tile(drifted, n - cut).set_index(current.index[cut:])
    start = pd.Timestamp("2024-06-01", tz="UTC")
    current["timestamp_utc"] = start + pd.to_timedelta(
        np.arange(n) * (WINDOWS * 3600 / n), unit="s"
    )
    current = current.assign(
        request_id="bench", record_index=np.arange(n, dtype="int32"), model_version="1",
        variant="champion", served=True, latency_ms=0.2,
    )  # fmt: skip
    delta.write_table(root / "reference", pa.Table.from_pandas(reference, preserve_index=False))
    delta.write_table(root / "inference_log", traffic.inference_arrow(current))
    labels = current.iloc[::2]
    delta.write_table(
        root / "ground_truth",
        traffic.ground_truth_arrow(traffic.label_rows(labels, labels["timestamp_utc"])),
    )


def run_ours(root: Path) -> dict:
    """The monitoring pipeline's nodes, Spark start included (runs in a child process).

    Like Evidently's, the clock starts before the imports of the side's own code."""
    started = time.perf_counter()
    steps: dict[str, float] = {}
    last = [started]

    def step(name: str) -> None:
        now = time.perf_counter()
        steps[name] = round(now - last[0], 2)
        last[0] = now

    import yaml

    from marvel_mlops.adapters import spark as spark_adapter

    project = Path(__file__).resolve().parents[1]
    # As `kedro run` does: the JVM starts on a background thread while the imports run.
    spark_adapter.start_early()
    spark_adapter.configure(yaml.safe_load((project / "conf/base/spark.yml").read_text()))
    from marvel_mlops.datasets import SparkDeltaTableDataset
    from marvel_mlops.pipelines.monitoring import nodes

    step("imports")
    spark_adapter.get_spark()
    step("spark_start")
    params = yaml.safe_load((project / "conf/base/parameters_monitoring.yml").read_text())[
        "monitoring"
    ]
    frame, labelled = nodes.prepare_inference(
        SparkDeltaTableDataset(filepath=str(root / "inference_log")).load(),
        SparkDeltaTableDataset(filepath=str(root / "ground_truth")).load(),
        params["granularity"],
    )
    windows = nodes.select_windows(labelled, None, params["granularity"])
    step("prepare_and_select_windows")
    window_sketch = nodes.sketch_windows(frame, windows, params["sketch"])
    step("sketch_windows")
    reference = SparkDeltaTableDataset(filepath=str(root / "reference")).load()
    if "model_version" not in reference.columns:
        from pyspark.sql import functions as F

        reference = reference.withColumn("model_version", F.lit("1"))
    baseline_sketch = nodes.sketch_baseline(reference, None, params["sketch"])
    step("sketch_baseline")
    performance = nodes.compute_performance(labelled, windows)
    step("compute_performance")
    profile = nodes.compute_profile(window_sketch, windows, params["profile"]["top_k"])
    drift = nodes.compute_drift(window_sketch, baseline_sketch, windows, params["drift"])
    alerts = nodes.evaluate_alerts(drift, performance, params["alerts"])
    decision = nodes.decide_retraining(alerts, params["trigger"])
    html = nodes.build_report(profile, drift, performance, alerts, decision)
    nodes.export_prometheus(drift, performance, alerts, decision)
    step("statistics_alerts_report")
    gender = drift[(drift["column_name"] == "gender") & (drift["drift_type"] == "BASELINE")]
    return {
        "seconds": time.perf_counter() - started,
        "spark_start_seconds": steps["spark_start"],
        "steps": steps,
        "windows": len(windows),
        "drift_rows": len(drift),
        "report_bytes": len(html),
        "gender_js_last_window": float(gender.sort_values("window_start")["js_distance"].iloc[-1]),
    }


def run_evidently(root: Path) -> dict:
    """Evidently's DataDriftPreset on the same tables and columns (in a child process)."""
    started = time.perf_counter()
    from deltalake import DeltaTable
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = CATEGORICAL + NUMERIC
    reference = DeltaTable(str(root / "reference")).to_pandas(columns=columns)
    current = DeltaTable(str(root / "inference_log")).to_pandas(columns=columns)
    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    result = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    result.dict()
    return {"seconds": time.perf_counter() - started}


def child(kind: str, root: Path) -> dict:
    """Runs one side in a fresh interpreter and returns its JSON result."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--root", str(root)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _data(n: int, keep: Path | None) -> tuple[Path, tempfile.TemporaryDirectory | None]:
    """Where the size-``n`` tables are: prepared now, or reused from ``keep``."""
    tmp = None if keep else tempfile.TemporaryDirectory(prefix="bench_monitoring_")
    root = keep / str(n) if keep else Path(tmp.name)
    if not (root / "ground_truth" / "_delta_log").exists():
        t = time.perf_counter()
        prepare(root, n)
        print(f"# {n:,} rows prepared in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return root, tmp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--sides", choices=["both", "ours", "evidently"], default="both")
    parser.add_argument("--data", type=Path, help="keep (and reuse) the tables here")
    parser.add_argument("--child", choices=["ours", "evidently"])
    parser.add_argument("--root", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps((run_ours if args.child == "ours" else run_evidently)(args.root)))
        return
    print(f"{'rows':>10} {'ours s':>8} {'(spark start)':>13} {'evidently s':>12} {'ratio':>7}")
    results = []
    for n in args.sizes:
        root, tmp = _data(n, args.data)
        ours = child("ours", root) if args.sides != "evidently" else None
        theirs = child("evidently", root) if args.sides != "ours" else None
        if tmp is not None:
            tmp.cleanup()
        ratio = theirs["seconds"] / ours["seconds"] if ours and theirs else None
        mine = ours or {"seconds": float("nan"), "spark_start_seconds": float("nan")}
        print(
            f"{n:>10,} {mine['seconds']:>8.1f} {mine['spark_start_seconds']:>13.1f} "
            f"{(theirs or {'seconds': float('nan')})['seconds']:>12.1f} "
            f"{ratio or float('nan'):>6.1f}x"
            + (
                f"   (windows {ours['windows']}, gender JS last window "
                f"{ours['gender_js_last_window']:.3f}; steps {ours['steps']})"
                if ours
                else ""
            ),
            flush=True,
        )
        results.append({"rows": n, "ours": ours, "evidently": theirs, "ratio": ratio})
    print(json.dumps({"benchmark": "monitoring", "results": results}))


if __name__ == "__main__":
    main()
