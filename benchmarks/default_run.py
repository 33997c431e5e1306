"""Wall time of a second `bash project.sh run`, end to end and per node, against 90 s.

A second run is the everyday case: the raw file, the Delta tables and the MLflow store
exist, the environment is synced. When `data/lakehouse/train_set` is missing, a first run
is made (and not timed). The timed run is the README command itself; its log gives:

* setup: `bash project.sh setup` (uv sync check, Java check), timed on its own;
* startup: from the command's start to the first node (Kedro, catalog, Spark session);
* each node: from its `[i/N] name` line to the next one (to `Done:` for the last);
* each pipeline: the sum of its nodes.

There is no second implementation to race, so the "peer" is the target of issue 12
(at most 90 s for the whole command on a quiet 2-core machine) and, with `--previous S`,
an earlier figure (e.g. the same command before a change, measured back to back). The
1-minute load average before and after is printed next to the figures: on a shared
machine it says how far they are from a quiet one. Also `--log FILE` reads the per-node
times of a log saved earlier instead of running.

    uv run python benchmarks/default_run.py [--previous SECONDS] [--log FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 90.0
NODE_LINE = re.compile(r"^(\d\d:\d\d:\d\d) INFO +\[(\d+)/(\d+)\] (\S+)")
DONE_LINE = re.compile(r"^(\d\d:\d\d:\d\d) INFO +Done: ")


def load() -> float:
    """The 1-minute load average."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def run(command: list[str]) -> tuple[float, str, dt.datetime]:
    """Runs a command from the project root; its wall seconds, output and start time."""
    started = dt.datetime.now()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, done.stdout + done.stderr, started


def node_times(log: str, started: dt.datetime | None) -> tuple[dict[str, float], float | None]:
    """Seconds per node from the log's ``[i/N] node`` lines, and the seconds from
    ``started`` to the first node (None without a start time). Times are to the second."""
    marks: list[tuple[str, dt.datetime]] = []
    day = (started or dt.datetime.now()).date()
    for line in log.splitlines():
        node, done = NODE_LINE.match(line), DONE_LINE.match(line)
        if node or done:
            clock = dt.datetime.combine(day, dt.time.fromisoformat((node or done).group(1)))
            if marks and clock < marks[-1][1]:  # past midnight
                day, clock = day + dt.timedelta(days=1), clock + dt.timedelta(days=1)
            marks.append((node.group(4) if node else "", clock))
    if not marks or marks[-1][0]:
        raise SystemExit("the log has no complete run (no '[i/N] node' lines or no 'Done:')")
    nodes = {n: (marks[i + 1][1] - t).total_seconds() for i, (n, t) in enumerate(marks[:-1])}
    startup = (marks[0][1] - started).total_seconds() if started else None
    return nodes, startup


def pipeline_of() -> dict[str, str]:
    """Node name -> the first pipeline of the default run that has it."""
    from kedro.framework.project import configure_project, find_pipelines

    from marvel_mlops.pipeline_registry import DEFAULT_ORDER

    configure_project("marvel_mlops")
    found = find_pipelines(raise_errors=True)
    names: dict[str, str] = {}
    for pipeline in (p for p in DEFAULT_ORDER if p in found):
        for node in found[pipeline].nodes:
            names.setdefault(node.name, pipeline)
    return names


def main() -> None:
    """Times setup and a second run, prints the figures and a JSON last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previous", type=float, default=None, help="an earlier wall figure")
    parser.add_argument("--log", type=Path, default=None, help="parse this log, do not run")
    args = parser.parse_args()
    figures: dict = {"benchmark": "default_run", "target_seconds": TARGET_SECONDS}
    if args.log:
        nodes, startup = node_times(args.log.read_text(), None)
    else:
        if not (ROOT / "data/lakehouse/train_set/_delta_log").exists():
            print("No lakehouse yet: making the first run (not timed)")
            run(["bash", "project.sh", "run"])
        figures["load_before"] = load()
        figures["setup_seconds"], _, _ = run(["bash", "project.sh", "setup"])
        wall, log, started = run(["bash", "project.sh", "run"])
        figures["load_after"] = load()
        nodes, startup = node_times(log, started)
        figures["wall_seconds"] = wall
        figures["ratio_to_target"] = wall / TARGET_SECONDS
        if args.previous:
            figures["previous_seconds"] = args.previous
            figures["ratio_to_previous"] = wall / args.previous
    owner = pipeline_of()
    pipelines: dict[str, float] = defaultdict(float)
    for name, seconds in nodes.items():
        pipelines[owner.get(name, "?")] += seconds
    figures.update(startup_seconds=startup, pipelines=dict(pipelines), nodes=nodes)

    print("node                              seconds")
    for name, seconds in sorted(nodes.items(), key=lambda item: -item[1]):
        print(f"  {name:<32}{seconds:7.0f}  ({owner.get(name, '?')})")
    print("pipeline                          seconds")
    for name, seconds in pipelines.items():
        print(f"  {name:<32}{seconds:7.0f}")
    if startup is not None:
        print(f"startup (command start -> first node) {startup:.0f} s")
    if "wall_seconds" in figures:
        print(f"setup alone (bash project.sh setup) {figures['setup_seconds']:.1f} s")
        print(
            f"second `bash project.sh run`: {figures['wall_seconds']:.1f} s wall, "
            f"{figures['ratio_to_target']:.2f}x the {TARGET_SECONDS:.0f} s target"
            + (
                f", {figures['ratio_to_previous']:.2f}x the previous {args.previous:.1f} s"
                if args.previous
                else ""
            )
            + f" (load average {figures['load_before']:.1f} before, "
            f"{figures['load_after']:.1f} after, on {len(os.sched_getaffinity(0))} cores)"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
