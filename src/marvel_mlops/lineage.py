"""Where a model comes from: commit, branch, run, lock file, Python.

Inside a git checkout the commit is read from git; in a packaged job (no checkout) it
comes from ``MARVEL_GIT_COMMIT`` / ``MARVEL_GIT_BRANCH`` (set by the Databricks bundle
from its git metadata) or CI variables. The Kedro run id is recorded by ``LineageHooks``.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from functools import cache
from importlib import resources
from pathlib import Path

UNKNOWN = "unknown"
_run: dict[str, str] = {}


def set_kedro_run(run_id: str, pipeline: str | None, env: str | None) -> None:
    """Remembers the current Kedro run (called by a hook before the pipeline runs)."""
    _run.update(
        {
            "kedro_run_id": run_id,
            "kedro_pipeline": pipeline or "__default__",
            "kedro_env": env or "local",
        }
    )


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


@cache
def git_info() -> dict[str, str]:
    """Commit, branch and whether the tree had uncommitted changes."""
    commit = os.environ.get("MARVEL_GIT_COMMIT") or _git("rev-parse", "HEAD")
    branch = os.environ.get("MARVEL_GIT_BRANCH") or _git("rev-parse", "--abbrev-ref", "HEAD")
    commit = commit or os.environ.get("GITHUB_SHA") or UNKNOWN
    status = _git("status", "--porcelain", "--untracked-files=no") if commit != UNKNOWN else None
    dirty = UNKNOWN if status is None else str(bool(status)).lower()
    return {"git_commit": commit, "git_branch": branch or UNKNOWN, "git_dirty": dirty}


def lock_digest(lock_path: str | Path = "uv.lock") -> str:
    """sha256 of uv.lock (or of the copy packaged into the wheel)."""
    path = Path(lock_path)
    if path.exists():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    packaged = resources.files("marvel_mlops").joinpath("uv.lock.sha256")
    return packaged.read_text().strip() if packaged.is_file() else UNKNOWN


def lineage_tags() -> dict[str, str]:
    """Every tag a model version and its run carry, besides the data versions."""
    return {
        **git_info(),
        "uv_lock_sha256": lock_digest(),
        "python_version": platform.python_version(),
        "kedro_run_id": _run.get("kedro_run_id", UNKNOWN),
        "kedro_pipeline": _run.get("kedro_pipeline", UNKNOWN),
        "kedro_env": _run.get("kedro_env", UNKNOWN),
    }
