"""The one way the commands start a Kedro session of this project."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def project_session(
    env: str | None = None,
    *,
    project: str | Path | None = None,
    conf_source: str | None = None,
    runtime_params: dict[str, Any] | None = None,
) -> Iterator[Any]:
    """A Kedro session of the project in ``project`` (default: the working directory), or of
    the installed package with ``conf_source`` when there is no project there (a wheel job).

    The session is closed on exit, and an MLflow run that kedro-mlflow left open in this
    process is ended, so a command can be called twice in one process.
    """
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    from kedro.framework.project import configure_project
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    root = Path(project or Path.cwd()).resolve()
    if (root / "pyproject.toml").exists():
        bootstrap_project(root)
    else:
        configure_project("marvel_mlops")
    try:
        with KedroSession.create(
            project_path=root, env=env, conf_source=conf_source, runtime_params=runtime_params
        ) as session:
            yield session
    finally:
        import mlflow

        while mlflow.active_run():
            mlflow.end_run()
