"""The ``marvel-mlops`` console command.

``marvel-mlops serve|rollback|replay|retrain-check|mlflow-ui|viz-serve ...`` run the project's operational
commands; anything else is a Kedro run of the packaged project, e.g.
``marvel-mlops --env databricks --pipelines training --conf-source conf.tar.gz`` (the
Databricks wheel task's entry point).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

# Each command is a module of this package, imported only when used.
COMMANDS: dict[str, str] = {
    "serve": "marvel_mlops.cli.serve:main",
    "rollback": "marvel_mlops.cli.rollback:main",
    "replay": "marvel_mlops.cli.replay:main",
    "retrain-check": "marvel_mlops.cli.retrain_check:main",
    "mlflow-ui": "marvel_mlops.cli.mlflow_ui:main",
    "viz-serve": "marvel_mlops.cli.viz_serve:main",
}


def _resolve(target: str):
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)


def main(argv: Sequence[str] | None = None) -> int | None:
    """Dispatches an operational command, or runs the Kedro project."""
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in COMMANDS:
        return _resolve(COMMANDS[args[0]])(args[1:])
    if args and args[0] in ("-h", "--help") and len(args) == 1:
        print(__doc__)
        print("Commands:", ", ".join(COMMANDS), "— or any `kedro run` options.")
        return 0
    from marvel_mlops.__main__ import main as kedro_run

    return kedro_run(args)


if __name__ == "__main__":
    sys.exit(main())
