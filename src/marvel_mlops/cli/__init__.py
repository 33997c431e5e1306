"""The project's command-line entry points.

This package's ``cli`` group is the Kedro project CLI (Kedro loads ``<package>.cli``):
``kedro run`` with plain data errors. ``main`` is the ``marvel-mlops`` console command,
which dispatches to one module per command (``serve``, ``rollback``, ``replay``,
``retrain_check``, ``mlflow_ui``, ``viz_serve``); ``session`` starts Kedro sessions for them.

A data error (``marvel_mlops.errors.PlainError``: a bad raw file, tables from an
interrupted run, nothing to roll back) is printed first and alone: its message names the
column, the problem and an example value. The traceback goes to ``logs/last_error.log``;
``--verbose`` prints it instead. Any other error keeps Kedro's full traceback.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run

from marvel_mlops.adapters import spark
from marvel_mlops.errors import plain_error

ERROR_LOG = Path("logs/last_error.log")


@click.group(name="marvel_mlops")
def cli() -> None:
    """Commands of the marvel-mlops project."""


def _write_traceback(error: BaseException) -> Path:
    ERROR_LOG.parent.mkdir(parents=True, exist_ok=True)
    ERROR_LOG.write_text("".join(traceback.format_exception(error)), encoding="utf-8")
    return ERROR_LOG


@click.pass_context
def _run(ctx: click.Context, verbose: bool, **kwargs: Any) -> Any:
    if not (kwargs.get("pipeline") or kwargs.get("pipelines")):
        # __default__ starts with Spark work: the JVM starts while Kedro loads. A named
        # pipeline may need no Spark at all (training), so there Spark starts when used.
        spark.start_early()
    try:
        return ctx.invoke(kedro_run, **kwargs)
    except Exception as error:
        plain = plain_error(error)
        if plain is None or verbose:
            raise
        log = _write_traceback(error)
        click.echo(f"Error: {plain}", err=True)
        click.echo(f"(traceback in {log}; add --verbose to print it)", err=True)
        sys.exit(1)


run = click.Command(
    name="run",
    callback=_run,
    params=[
        *kedro_run.params,
        click.Option(["--verbose"], is_flag=True, help="Print the traceback of data errors."),
    ],
    help=kedro_run.help,
    short_help=kedro_run.short_help,
)
cli.add_command(run)
