"""``marvel-mlops rollback``: move ``champion`` back to ``previous-champion`` and record it.

The rolled-back version loses every serving alias (``champion``, ``challenger``) and
``previous-champion`` moves one champion further back. With nothing to roll back to, one
line says so, the exit code is 1 and no MLflow run is started.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from marvel_mlops.cli.session import project_session


def main(argv: Sequence[str]) -> int:
    """Runs the deployment pipeline with ``deployment.action=rollback``."""
    parser = argparse.ArgumentParser(prog="marvel-mlops rollback", description=__doc__)
    parser.add_argument("--env", default=None, help="Kedro environment (default: local)")
    parser.add_argument("--conf-source", default=None, help="configuration folder or archive")
    args = parser.parse_args(list(argv))
    with project_session(
        args.env,
        conf_source=args.conf_source,
        runtime_params={"deployment": {"action": "rollback"}},
    ) as session:
        from marvel_mlops.pipelines.deployment.nodes import rollback_refusal

        refusal = rollback_refusal(session.load_context().catalog.load("model_aliases"))
        if refusal:
            print(f"marvel-mlops rollback: {refusal}", file=sys.stderr)
            return 1
        session.run(pipeline_names=["deployment"])
    return 0
