"""Writes the sha256 of uv.lock into the package before `kedro package`.

A packaged job has no uv.lock next to it; model versions it registers are tagged with
this digest instead (see marvel_mlops.lineage.lock_digest).

    uv run python scripts/stamp_lock_digest.py && uv run kedro package
"""

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    digest = hashlib.sha256((ROOT / "uv.lock").read_bytes()).hexdigest()
    target = ROOT / "src/marvel_mlops/uv.lock.sha256"
    target.write_text(digest + "\n")
    print(f"{target.relative_to(ROOT)}: {digest}")
