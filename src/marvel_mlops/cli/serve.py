"""``marvel-mlops serve``: the REST model server for the registered ``champion``.

Settings come from ``deployment.serving`` in ``conf/base/parameters_deployment.yml``
(plus ``conf/<env>``) when the project's ``conf`` folder is there, and flags override
them. Without a project (the container), give the model by URI::

    marvel-mlops serve                                   # champion of the local registry
    marvel-mlops serve --ab-share 0.2 --shadow           # A/B 20 % + shadow challenger
    MARVEL_MODEL_URI=models:/marvel_character_model@champion marvel-mlops serve --host 0.0.0.0

The bearer token, when wanted, is read from the environment variable named by
``auth_token_env`` (default ``MARVEL_SERVING_TOKEN``); it is never a flag or a file.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from marvel_mlops.serving.settings import (
    ServingSettings,
    SettingsError,
    load_project_settings,
    mlflow_uris,
)

logger = logging.getLogger("marvel_mlops.serving")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line (every flag overrides the configured value)."""
    parser = argparse.ArgumentParser(prog="marvel-mlops serve", description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--project-path", type=Path, default=Path.cwd(), help="project root (with conf/)")
    add("--env", default=None, help="Kedro configuration environment (default: local)")
    add(
        "--model-uri",
        default=os.environ.get("MARVEL_MODEL_URI"),
        help="models:/<name>@<alias> (followed), models:/<name>/<v>, runs:/... or a path",
    )
    add(
        "--model-version",
        default=os.environ.get("MARVEL_MODEL_VERSION"),
        help="version label shown for a model given by path or runs:/ URI",
    )
    add("--host", default=None)
    add("--port", type=int, default=None)
    add("--ab-share", type=float, default=None, help="share of PageIDs answered by challenger")
    add("--shadow", action=argparse.BooleanOptionalAction, default=None)
    add("--poll-interval", type=float, default=None, help="seconds between alias checks")
    add("--inference-log", action=argparse.BooleanOptionalAction, default=None)
    add("--inference-log-path", default=None, help="Delta table path of inference_log")
    add(
        "--feature-store",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="complete page_id-only records from the project's online store (default: on "
        "when the catalog has a local feature_store)",
    )
    add("--tracking-uri", default=None, help="MLflow tracking URI (default: conf mlflow.yml)")
    add("--registry-uri", default=None, help="MLflow registry URI (default: tracking URI)")
    add("--log-level", default="info")
    return parser.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> ServingSettings:
    """Configured settings (if the project is there) with the flags applied."""
    has_conf = (args.project_path / "conf" / "base").is_dir()
    settings = load_project_settings(args.project_path, args.env) if has_conf else ServingSettings()
    flags = {
        "model_uri": args.model_uri,
        "model_version": args.model_version,
        "host": args.host,
        "port": args.port,
        "ab_challenger_share": args.ab_share,
        "shadow": args.shadow,
        "poll_interval_s": args.poll_interval,
    }
    settings = replace(settings, **{k: v for k, v in flags.items() if v is not None})
    log = settings.inference_log
    if args.inference_log is not None:
        log = replace(log, enabled=args.inference_log)
    if args.inference_log_path is not None:
        log = replace(log, path=args.inference_log_path)
    if args.feature_store is False:
        settings = replace(settings, feature_store_repo=None, feature_tables=None)
    return replace(settings, inference_log=log).validated()


def configure_mlflow(args: argparse.Namespace) -> None:
    """Flags, else ``MLFLOW_TRACKING_URI``, else the project's ``mlflow.yml``."""
    import mlflow

    tracking, registry = args.tracking_uri, args.registry_uri
    has_conf = (args.project_path / "conf" / "base").is_dir()  # none in a baked container
    if tracking is None and not os.environ.get("MLFLOW_TRACKING_URI") and has_conf:
        tracking, registry_conf = mlflow_uris(args.project_path, args.env)
        registry = registry or registry_conf
    if tracking:
        mlflow.set_tracking_uri(tracking)
    if registry or tracking:
        mlflow.set_registry_uri(registry or tracking)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str]) -> int:
    """Starts uvicorn with the app; returns when the server has shut down gracefully."""
    import uvicorn

    from marvel_mlops.serving.app import create_app
    from marvel_mlops.serving.server import bound_registry_calls, uvicorn_config

    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = settings_from_args(args)
    except SettingsError as error:
        logger.error("%s", error)
        return 2
    bound_registry_calls(settings)
    configure_mlflow(args)
    token = bearer_token(settings, os.environ)
    if not _loopback(settings.host) and not token:
        logger.warning(
            "Listening on %s without a bearer token: set %s to require one",
            settings.host,
            settings.auth_token_env,
        )
    app = create_app(settings, token=token, freeze_gc=True, load_in_background=True)
    # The log writer and model watcher threads hold the GIL in short bursts; a shorter
    # switch interval keeps the event loop from waiting up to 5 ms behind them (p99).
    sys.setswitchinterval(0.0005)
    logger.info(
        "Serving on http://%s:%d (model %s)",
        settings.host,
        settings.port,
        settings.model_uri or f"models:/{settings.model_name}@champion",
    )
    uvicorn.Server(uvicorn_config(app, settings, args.log_level)).run()
    return 0


def bearer_token(settings: ServingSettings, environ: Mapping[str, str]) -> str | None:
    """The token from ``auth_token_env``; a variable that is set but empty warns (no auth)."""
    if not settings.auth_token_env:
        return None
    token = environ.get(settings.auth_token_env)
    if token is not None and not token.strip():
        logger.warning(
            "%s is set but empty: requests are NOT authenticated; give it a token or unset it",
            settings.auth_token_env,
        )
        return None
    return token or None
