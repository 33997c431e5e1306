"""``marvel-mlops rollback``: move ``champion`` back to ``previous-champion`` and record it.

The rolled-back version loses every serving alias (``champion``, ``challenger``) and
``previous-champion`` moves one champion further back. With nothing to roll back to, one
line says so, the exit code is 1 and no MLflow run is started.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def rollback_main(argv: Sequence[str]) -> int:
    """Runs the deployment pipeline with ``deployment.action=rollback``."""
    parser = argparse.ArgumentParser(prog="marvel-mlops rollback", description=__doc__)
    parser.add_argument("--env", default=None, help="Kedro environment (default: local)")
    parser.add_argument("--conf-source", default=None, help="configuration folder or archive")
    args = parser.parse_args(list(argv))
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    from kedro.framework.project import configure_project
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    if (Path.cwd() / "pyproject.toml").exists():
        bootstrap_project(Path.cwd())
    else:  # an installed wheel with --conf-source
        configure_project("marvel_mlops")
    with KedroSession.create(
        env=args.env,
        conf_source=args.conf_source,
        runtime_params={"deployment": {"action": "rollback"}},
    ) as session:
        from marvel_mlops.pipelines.deployment.nodes import rollback_refusal

        refusal = rollback_refusal(session.load_context().params["deployment"]["model_name"])
        if refusal:
            print(f"marvel-mlops rollback: {refusal}", file=sys.stderr)
            return 1
        session.run(pipeline_names=["deployment"])
    import mlflow

    while mlflow.active_run():  # kedro-mlflow may leave the run open in this process
        mlflow.end_run()
    return 0
