"""Online feature lookup for one key: the server's in-memory view vs Feast per request.

Reads the project's published online store (data/feature_store, written by the
feature_engineering pipeline; run ``bash project.sh run`` first) and times, for the same
random keys, ``OnlineFeatures.enrich`` (what the server does per request) against Feast's
``get_online_features`` on the same online store (SQLite), plus the reload of the whole
publication. Prints p50/p99 per lookup, the ratio, and a JSON last line.

    uv run python benchmarks/feature_lookup.py [--lookups 500]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from marvel_mlops.adapters.feast_store import FeastStore
from marvel_mlops.data.schema import FEATURE_COLUMNS
from marvel_mlops.features_store.definitions import FEATURE_TABLES
from marvel_mlops.features_store.online import OnlineFeatures

ROOT = Path(__file__).resolve().parents[1]


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=500)
    args = parser.parse_args()
    repo = ROOT / "data/feature_store"
    online = OnlineFeatures(repo)
    start = time.perf_counter()
    if not online.refresh():
        raise SystemExit("No published online store under data/feature_store: run the pipeline")
    reload_s = time.perf_counter() - start
    keys = random.Random(7).sample(list(online.rows), min(args.lookups, len(online.rows)))
    features = {t.name: list(t.features) for t in FEATURE_TABLES}
    store = FeastStore(repo)
    store.online_features(keys[:1], features)  # warm: registry and connection
    ours, feast = [], []
    for key in keys:
        t0 = time.perf_counter()
        online.enrich([{"page_id": key}], FEATURE_COLUMNS)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        store.online_features([key], features)
        feast.append(time.perf_counter() - t0)
    result = {
        "keys": len(online.rows),
        "reload_s": reload_s,
        "in_memory": percentiles(ours),
        "feast_get_online_features": percentiles(feast),
    }
    result["ratio_p50"] = result["feast_get_online_features"]["p50_ms"] / max(
        result["in_memory"]["p50_ms"], 1e-9
    )
    print(f"published keys {result['keys']:,}; reload of the publication {reload_s:.2f} s")
    for name in ("in_memory", "feast_get_online_features"):
        r = result[name]
        print(f"  {name:<28} p50 {r['p50_ms']:8.4f} ms  p99 {r['p99_ms']:8.4f} ms")
    print(f"Feast per request / in memory (p50): {result['ratio_p50']:.0f}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
