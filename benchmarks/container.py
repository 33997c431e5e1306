"""Container benchmark: the same server and model inside the podman container and outside it.

Trains a model into a temporary registry (like ``serving.py --bootstrap``), then serves its
champion twice, one after the other: ``marvel-mlops serve`` on the host, and the image
(built by ``bash project.sh image``) run with podman (``--network host``, the registry folder
mounted). Single-record ``POST /invocations`` requests, one connection, a fixed duration each.
Prints cold start to ``/ready``, p50/p99 inside and outside, their ratio, the image size, and a
JSON line last.

    bash project.sh image && uv run python benchmarks/container.py
    uv run python benchmarks/container.py --image localhost/marvel-serving:latest --duration 10
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

import serving as bench  # noqa: E402

CONF = bench.ROOT / ".tools/containers/containers.conf"


def podman(*args: str) -> str:
    """Runs podman (with project.sh's containers.conf); its stdout."""
    env = {**os.environ}
    if not env.get("CONTAINERS_CONF") and CONF.exists():
        env["CONTAINERS_CONF"] = str(CONF)
    done = subprocess.run(["podman", *args], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"podman {args[0]} failed: {done.stderr[-2000:]}")
    return done.stdout.strip()


def wait_ready(url: str, timeout: float = 180) -> float:
    """Seconds until ``url`` answers 200."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with bench.urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def in_container(image: str, workdir: Path, uri: str, name: str, args, bodies) -> dict:
    """Cold start to /ready and the load, inside the container; stopped with SIGTERM."""
    port = bench.free_port()
    for path in [workdir, *workdir.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    started = time.monotonic()
    cid = podman("run", "-d", "--network", "host", "--health-interval", "disable",
                 "-v", f"{workdir}:{workdir}", "-e", f"MARVEL_PORT={port}",
                 "-e", f"MLFLOW_TRACKING_URI={uri}", "-e", f"MARVEL_MODEL_URI=models:/{name}@champion",
                 image, "--inference-log-path", f"{workdir}/container_log", "--log-level", "warning")  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{port}/ready")
        cold = time.monotonic() - started
        result = measure(port, args, bodies)
    finally:
        podman("kill", "--signal", "TERM", cid)
        podman("wait", cid)
        podman("rm", cid)
    return {"cold_start_s": round(cold, 2), **result}


def measure(port: int, args, bodies) -> dict:
    bench.run_load(port, bodies[:50], 1, 2.0)  # warm-up
    result = bench.run_load(port, bodies, 1, args.duration)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image", default="localhost/marvel-serving:latest")
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--bootstrap-rows", type=int, default=20_000)
    args = parser.parse_args()
    size_mb = int(podman("image", "inspect", "--format", "{{.Size}}", args.image)) / 1e6
    workdir = Path(tempfile.mkdtemp(prefix="marvel_container_bench_"))
    try:
        run_both(args, workdir, size_mb)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_both(args, workdir: Path, size_mb: float) -> None:
    """Outside, then inside; prints the figures and the JSON line."""
    print(f"Training a model into {workdir} ...", flush=True)
    uri, name = bench.bootstrap_registry(workdir, args.bootstrap_rows)
    bodies = bench.request_bodies(1, 2000, 1)

    port = bench.free_port()
    started = time.monotonic()
    host = bench.start_ours(port, uri, name, workdir / "host_log")
    try:
        bench.wait_ready(f"http://127.0.0.1:{port}/ready", host)
        outside = {
            "cold_start_s": round(time.monotonic() - started, 2),
            **measure(port, args, bodies),
        }
    finally:
        bench.stop(host)
    inside = in_container(args.image, workdir, uri, name, args, bodies)
    ratio = inside["p99_ms"] / max(outside["p99_ms"], 1e-9)
    for label, result in (("outside (host)", outside), ("inside (podman)", inside)):
        print(f"  {label:<16} cold start {result['cold_start_s']:6.2f} s  {result['rps']:8.1f} req/s"
              f"  p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms"
              f"  failures {result['failures']}")  # fmt: skip
    print(f"image {args.image}: {size_mb:.0f} MB; single-record p99 inside / outside: {ratio:.2f}x")
    print(json.dumps({"image": args.image, "image_size_mb": round(size_mb), "outside": outside,
                      "inside": inside, "p99_ratio_inside_vs_outside": round(ratio, 3)}))  # fmt: skip


if __name__ == "__main__":
    main()
