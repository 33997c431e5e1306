"""Exports a registered model for baking into the serving image; prints its version.

    python scripts/export_model.py models:/marvel_character_model@champion build/model

The registry is ``MLFLOW_TRACKING_URI`` (and ``MLFLOW_REGISTRY_URI``) when set, else the
project's ``conf/base/mlflow.yml``. ``models:/<name>@<alias>`` and ``models:/<name>/<version>``
are accepted; the target folder is replaced.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def resolve_version(uri: str) -> tuple[str, str]:
    """``(name, version)`` of a ``models:/`` URI (an alias is resolved in the registry)."""
    from mlflow import MlflowClient

    if not uri.startswith("models:/"):
        raise SystemExit(f"model URI must be models:/<name>@<alias> or models:/<name>/<v>: {uri}")
    rest = uri[len("models:/") :].rstrip("/")
    if "@" in rest:
        name, alias = rest.split("@", 1)
        return name, MlflowClient().get_model_version_by_alias(name, alias).version
    name, _, version = rest.rpartition("/")
    if not name or not version.isdigit():
        raise SystemExit(f"model URI has no version or alias: {uri}")
    return name, version


def main(uri: str, target: str) -> str:
    """Downloads the model version behind ``uri`` into ``target``; returns the version."""
    import mlflow

    if not os.environ.get("MLFLOW_TRACKING_URI"):
        from marvel_mlops.serving.settings import mlflow_uris

        tracking, registry = mlflow_uris(Path.cwd())
        mlflow.set_tracking_uri(tracking)
        mlflow.set_registry_uri(registry or tracking)
    name, version = resolve_version(uri)
    shutil.rmtree(target, ignore_errors=True)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    mlflow.artifacts.download_artifacts(f"models:/{name}/{version}", dst_path=target)
    return version


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(main(sys.argv[1], sys.argv[2]))
