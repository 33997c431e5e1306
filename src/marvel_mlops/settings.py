"""Project settings: hooks, configuration loader and session store."""

from pathlib import Path

from kedro.config import OmegaConfigLoader
from kedro.utils import find_kedro_project

from marvel_mlops.hooks import LineageHooks, ProgressHooks, SparkHooks

HOOKS = (SparkHooks(), LineageHooks(), ProgressHooks())


def project_path(relative: str) -> str:
    """``${project_path:data/x}``: a path under the project root (the working directory
    for a packaged run), so that e.g. the SQLite MLflow store does not depend on where
    Python was started (notebooks/, tests)."""
    root = find_kedro_project(Path.cwd()) or Path.cwd()
    return (root / relative).resolve().as_posix()


CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/<env> overrides single keys of a pipeline's parameters instead of replacing
    # the whole top-level block.
    "merge_strategy": {"parameters": "soft", "mlflow": "soft"},
    "custom_resolvers": {"project_path": project_path},
    "config_patterns": {
        "spark": ["spark*", "spark*/**"],
        "parameters": ["parameters*", "parameters*/**", "**/parameters*"],
    },
}
