"""Server settings: ``deployment.serving`` in ``parameters_deployment.yml``, then CLI flags."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """A setting is missing or out of range (the message names it)."""


@dataclass(frozen=True)
class InferenceLogSettings:
    """The background writer of the ``inference_log`` Delta table."""

    enabled: bool = True
    path: str = "data/lakehouse/inference_log"
    batch_size: int = 5000
    flush_interval_s: float = 1.0
    queue_max_records: int = 100_000
    # Compaction + checkpoint of the table, between writes in the writer thread: after this
    # many commits or this many seconds since the last one (0 turns that trigger off).
    compact_every_commits: int = 100
    compact_interval_s: float = 600.0


@dataclass(frozen=True)
class ServingSettings:
    """Everything the server needs; ``model_uri`` wins over ``model_name`` + alias."""

    model_name: str = "marvel_character_model"
    model_uri: str | None = None
    model_version: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    ab_challenger_share: float = 0.0
    ab_salt: str = "marvel-ab-v1"
    shadow: bool = False
    poll_interval_s: float = 10.0
    max_records: int = 1000
    max_body_bytes: int = 1_048_576
    auth_token_env: str | None = "MARVEL_SERVING_TOKEN"
    # Slow or idle clients: a connection must send its headers within header_timeout_s and
    # each part of its body within body_timeout_s; idle keep-alive connections close after
    # keep_alive_timeout_s; beyond max_connections new requests get 503.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keep_alive_timeout_s: int = 5
    max_connections: int = 512
    graceful_shutdown_s: int = 10
    # MLflow registry calls: retries and timeout per call (MLflow's defaults wait minutes).
    registry_max_retries: int = 2
    registry_timeout_s: int = 10
    inference_log: InferenceLogSettings = field(default_factory=InferenceLogSettings)
    # The online store (serving.feature_lookup): records that carry only page_id are
    # completed from it; None turns the lookup off. Tables: name -> offline Delta path
    # (for the staleness report in /ready).
    feature_store_repo: str | None = None
    feature_tables: dict[str, str] | None = None

    @property
    def challenger_wanted(self) -> bool:
        """True when A/B or shadow mode needs the challenger."""
        return self.ab_challenger_share > 0 or self.shadow

    @property
    def _fixed_uri(self) -> bool:
        return self.model_uri is not None and not self.model_uri.startswith("models:/")

    def validated(self) -> ServingSettings:
        """Returns self, or raises ``SettingsError`` naming the first bad setting."""
        checks = [
            ("ab_challenger_share", 0.0 <= self.ab_challenger_share <= 1.0, "between 0 and 1"),
            ("poll_interval_s", self.poll_interval_s > 0, "> 0"),
            ("max_records", self.max_records >= 1, ">= 1"),
            ("max_body_bytes", self.max_body_bytes >= 1024, ">= 1024"),
            ("port", 0 <= self.port <= 65535, "a TCP port"),
            ("header_timeout_s", self.header_timeout_s > 0, "> 0"),
            ("body_timeout_s", self.body_timeout_s > 0, "> 0"),
            ("keep_alive_timeout_s", self.keep_alive_timeout_s >= 1, ">= 1"),
            ("max_connections", self.max_connections >= 1, ">= 1"),
            ("graceful_shutdown_s", self.graceful_shutdown_s >= 0, ">= 0"),
            ("registry_max_retries", self.registry_max_retries >= 0, ">= 0"),
            ("registry_timeout_s", self.registry_timeout_s >= 1, ">= 1"),
            (
                "model_version",
                self.model_version is None or self._fixed_uri,
                "given only with a model_uri that is a path or runs:/ URI (not models:/)",
            ),
            ("inference_log.batch_size", self.inference_log.batch_size >= 1, ">= 1"),
            ("inference_log.flush_interval_s", self.inference_log.flush_interval_s > 0, "> 0"),
            ("inference_log.queue_max_records", self.inference_log.queue_max_records >= 1, ">= 1"),
            (
                "inference_log.compact_every_commits",
                self.inference_log.compact_every_commits >= 0,
                ">= 0",
            ),
            (
                "inference_log.compact_interval_s",
                self.inference_log.compact_interval_s >= 0,
                ">= 0",
            ),
        ]
        for name, ok, expected in checks:
            if not ok:  # NaN compares False, so it is refused too
                raise SettingsError(f"deployment.serving.{name} must be {expected}")
        return self


def settings_from_params(
    serving: dict[str, Any], model_name: str | None = None, log_path: str | None = None
) -> ServingSettings:
    """``ServingSettings`` from the ``deployment.serving`` mapping (unknown keys refused)."""
    serving = dict(serving or {})
    log = dict(serving.pop("inference_log", None) or {})
    if log_path is not None:
        log.setdefault("path", log_path)
    _refuse_unknown(serving, ServingSettings, "deployment.serving")
    _refuse_unknown(log, InferenceLogSettings, "deployment.serving.inference_log")
    base = ServingSettings(**serving, inference_log=InferenceLogSettings(**log))
    if model_name:
        base = replace(base, model_name=model_name)
    return base.validated()


def _refuse_unknown(values: dict[str, Any], cls: type, where: str) -> None:
    known = {f.name for f in fields(cls)} - {"inference_log"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SettingsError(f"{where}: unknown setting(s) {unknown}; known: {sorted(known)}")


def load_project_settings(project_path: Path, env: str | None = None) -> ServingSettings:
    """Reads the project's configuration (``conf/base`` + ``conf/<env>``) like ``kedro run``."""
    from kedro.config import OmegaConfigLoader

    from marvel_mlops.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(
        conf_source=str(project_path / "conf"),
        env=env,
        **{k: v for k, v in CONFIG_LOADER_ARGS.items() if k != "config_patterns"},
        config_patterns=CONFIG_LOADER_ARGS.get("config_patterns"),
    )
    deployment = loader["parameters"].get("deployment") or {}
    log_entry = (loader["catalog"].get("inference_log@spark") or {}).get("filepath")
    log_path = None if log_entry is None else str(_absolute(project_path, log_entry))
    settings = settings_from_params(
        deployment.get("serving") or {}, deployment.get("model_name"), log_path
    )
    store = loader["catalog"].get("feature_store") or {}
    if settings.feature_store_repo is None and "repo" in store:  # the local (Feast) store
        tables = {n: str(_absolute(project_path, p)) for n, p in store["tables"].items()}
        repo = str(_absolute(project_path, store["repo"]))
        settings = replace(settings, feature_store_repo=repo, feature_tables=tables)
    return settings


def mlflow_uris(project_path: Path, env: str | None = None) -> tuple[str | None, str | None]:
    """Tracking and registry URIs from ``mlflow.yml`` (SQLite paths made absolute)."""
    from kedro.config import OmegaConfigLoader

    from marvel_mlops.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(
        conf_source=str(project_path / "conf"),
        env=env,
        base_env="base",
        default_run_env="local",
        config_patterns={"mlflow": ["mlflow*", "mlflow*/**"]},
        custom_resolvers=CONFIG_LOADER_ARGS["custom_resolvers"],
    )
    try:
        server = loader["mlflow"].get("server") or {}
    except KeyError:
        return None, None
    return (
        _absolute_sqlite(project_path, server.get("mlflow_tracking_uri")),
        _absolute_sqlite(project_path, server.get("mlflow_registry_uri")),
    )


def _absolute(project_path: Path, path: str) -> str | Path:
    if "://" in path:
        return path
    candidate = Path(path)
    return candidate if candidate.is_absolute() else project_path / candidate


def _absolute_sqlite(project_path: Path, uri: str | None) -> str | None:
    prefix = "sqlite:///"
    if not uri or not uri.startswith(prefix) or uri.startswith(prefix + "/"):
        return uri
    return prefix + str(project_path / uri[len(prefix) :])
