"""``marvel-mlops mlflow-ui``: MLflow's UI on the project's store, with the links that matter.

MLflow 3 opens on its GenAI overview, which is empty for this project. This command
prints where the project's runs (the experiment) and the registered model with its
aliases are, then starts ``mlflow ui`` on the project's tracking store (127.0.0.1).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from marvel_mlops.cli.session import project_session


def ui_links(base_url: str, experiment_id: str | None, model_name: str) -> dict[str, str]:
    """The UI's pages for the project's experiment and registered model."""
    base = base_url.rstrip("/")
    links = {"ui": base, "model": f"{base}/#/models/{quote(model_name, safe='')}"}
    if experiment_id is not None:
        links["experiment"] = f"{base}/#/experiments/{experiment_id}"
    return links


def _project_settings(env: str | None) -> tuple[str, str, str, str, str]:
    """Tracking URI, experiment name, model name, UI host and port from the project conf."""
    with project_session(env) as session:
        context = session.load_context()
        config = context.mlflow
        return (
            config.server.mlflow_tracking_uri,
            config.tracking.experiment.name,
            context.config_loader["catalog"]["model_registration"]["model_name"],
            config.ui.host,
            str(config.ui.port),
        )


def main(argv: Sequence[str]) -> int:
    """Prints the experiment and model links, then runs ``mlflow ui`` (unless --print-only)."""
    parser = argparse.ArgumentParser(prog="marvel-mlops mlflow-ui", description=__doc__)
    parser.add_argument("--env", default=None, help="Kedro environment (default: local)")
    parser.add_argument("--host", default=None, help="default: mlflow.yml ui.host")
    parser.add_argument("--port", default=None, help="default: mlflow.yml ui.port")
    parser.add_argument("--print-only", action="store_true", help="print the links and exit")
    args = parser.parse_args(list(argv))
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    uri, experiment_name, model_name, host, port = _project_settings(args.env)
    host, port = args.host or host, args.port or port
    import mlflow

    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name(experiment_name)
    links = ui_links(f"http://{host}:{port}", experiment and experiment.experiment_id, model_name)
    print(f"MLflow UI: {links['ui']}  (it opens on the GenAI overview; the project is here:)")
    if "experiment" in links:
        print(f"  runs (experiment '{experiment_name}'): {links['experiment']}")
    else:
        print(f"  runs: experiment '{experiment_name}' appears after the first pipeline run")
    print(f"  registered model '{model_name}' and its aliases: {links['model']}")
    sys.stdout.flush()
    if args.print_only:
        return 0
    mlflow_cli = shutil.which("mlflow") or str(Path(sys.executable).parent / "mlflow")
    command = [mlflow_cli, "ui", "--backend-store-uri", uri, "--host", host, "--port", port]
    os.execv(mlflow_cli, command)
    return 0  # pragma: no cover - execv does not return
