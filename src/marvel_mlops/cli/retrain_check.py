"""``marvel-mlops retrain-check``: is retraining needed? (exit status 3 = yes, 0 = no).

Reads the ``retraining_trigger`` dataset written by the monitoring pipeline (the k-of-n
rule over ``monitoring_alerts``) and prints why. Databricks jobs read the decision through the
``retrain_task_value`` dataset instead (see ``resources/monitoring_job.yml``).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from marvel_mlops.cli.session import project_session

EXIT_NO_RETRAIN, EXIT_RETRAIN, EXIT_ERROR = 0, 3, 2


def load_decision(project: str, env: str) -> dict[str, Any]:
    """The latest ``retraining_trigger`` through the project's catalog."""
    with project_session(env, project=project) as session:
        return session.load_context().catalog.load("retraining_trigger")


def main(argv: list[str]) -> int:
    """Prints the decision and returns 3 (retrain), 0 (no need) or 2 (no decision yet)."""
    parser = argparse.ArgumentParser(prog="marvel-mlops retrain-check", description=__doc__)
    parser.add_argument("--env", default="local")
    parser.add_argument("--project", default=".")
    parser.add_argument("--json", action="store_true", help="print the decision as JSON")
    args = parser.parse_args(argv)
    try:
        decision = load_decision(args.project, args.env)
    except Exception as exc:  # noqa: BLE001 - any missing/unreadable dataset means "no decision"
        print(
            f"retrain-check: no retraining decision available ({exc}); run the monitoring pipeline"
        )
        return EXIT_ERROR
    print(
        json.dumps(decision, indent=2, default=str)
        if args.json
        else decision.get("explanation", decision)
    )
    return EXIT_RETRAIN if decision.get("retrain") else EXIT_NO_RETRAIN
