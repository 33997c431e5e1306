"""The models being served and the watcher that follows the registry aliases.

A ``ModelSnapshot`` (champion, optional challenger) is immutable; the watcher loads and
warms up a new version completely before it replaces the snapshot in one assignment,
so a request always scores with a whole model, old or new, never a half-loaded one.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from marvel_mlops.adapters import registry
from marvel_mlops.model.decision import alive_labels

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedModel:
    """A loaded model version with a pandas-free scoring path."""

    name: str
    version: str
    threshold: float
    features: Any
    booster: Any

    @classmethod
    def from_pyfunc(cls, pyfunc: Any, name: str, version: str) -> ServedModel:
        """Wraps a loaded ``MarvelCharacterModel`` pyfunc and warms it up."""
        model = pyfunc.unwrap_python_model()
        served = cls(name, str(version), model.threshold, model.features, model.booster)
        served.score([{}])
        return served

    def score(self, records: Sequence[Mapping[str, Any]]) -> tuple[list[float], list[int]]:
        """Probabilities and labels, as the pyfunc computes them, without pandas."""
        if not records:
            return [], []
        matrix = self.features.transform_records(records)
        # One thread: single-record calls gain nothing from OpenMP and its spinning
        # threads would steal the CPU the event loop needs.
        probabilities = self.booster.predict(matrix, num_threads=1)
        return probabilities.tolist(), alive_labels(probabilities, self.threshold).tolist()


@dataclass(frozen=True)
class ModelSnapshot:
    """What serves right now."""

    champion: ServedModel | None = None
    challenger: ServedModel | None = None


class ModelSource(Protocol):
    """Where versions come from."""

    name: str
    watches: bool

    def resolve(self, alias: str) -> str | None: ...

    def load(self, version: str) -> ServedModel: ...

    def public(self, text: str) -> str: ...


class RegistrySource:
    """Versions behind registry aliases (``champion``, ``challenger``)."""

    watches = True

    def __init__(self, name: str, champion_alias: str = registry.CHAMPION) -> None:
        self.name = name
        self.champion_alias = champion_alias

    def resolve(self, alias: str) -> str | None:
        """The version behind ``alias``; None only when the registry says it does not exist.

        Any other failure (registry unreachable, ...) raises, so it is never mistaken for a
        removed alias.
        """
        return registry.version_for_alias(self.name, self.alias_of(alias))

    def load(self, version: str) -> ServedModel:
        loaded = registry.load_version(self.name, version)
        return ServedModel.from_pyfunc(loaded.pyfunc, self.name, version)

    def public(self, text: str) -> str:
        """Registry names are public already."""
        return text

    def alias_of(self, alias: str) -> str:
        """The registry alias followed for ``alias``."""
        return self.champion_alias if alias == registry.CHAMPION else alias


class UriSource:
    """One fixed model (a path, ``runs:/...`` or ``models:/name/<version>``): no challenger.

    What the server shows (``/ready``, ``/version``, predictions, ``/metrics``) is a model
    name and a version label, never the URI: a path would tell clients about the server's
    file system.
    """

    watches = False

    def __init__(self, uri: str, name: str, version: str | None = None) -> None:
        self.uri = uri
        self.name = _name_in_uri(uri) or name
        self.version = version or _version_in_uri(uri) or _label_for(uri)

    def resolve(self, alias: str) -> str | None:
        return self.version if alias == registry.CHAMPION else None

    def load(self, version: str) -> ServedModel:
        import mlflow

        pyfunc = mlflow.pyfunc.load_model(
            registry.pyfunc_uri(self.uri), model_config={"model_version": version}
        )
        return ServedModel.from_pyfunc(pyfunc, self.name, version)

    def public(self, text: str) -> str:
        """``text`` with the URI (and its absolute form) replaced by the model's name."""
        for form in sorted({self.uri, os.path.abspath(_local_path(self.uri))}, key=len)[::-1]:
            text = text.replace(form, f"<model {self.name}>")
        return text


def _local_path(uri: str) -> str:
    return uri[len("file://") :] if uri.startswith("file://") else uri


def _name_in_uri(uri: str) -> str | None:
    if uri.startswith("models:/"):
        return uri[len("models:/") :].split("/", 1)[0].split("@", 1)[0] or None
    return None


def _version_in_uri(uri: str) -> str | None:
    if uri.startswith("models:/") and "@" not in uri:
        last = uri.rstrip("/").rsplit("/", 1)[-1]
        return last if last.isdigit() else None
    return None


def _label_for(uri: str) -> str:
    """A version label without the path: the run, else the model's UUID from ``MLmodel``."""
    if uri.startswith("runs:/"):
        return "run-" + uri[len("runs:/") :].split("/", 1)[0][:12]
    mlmodel = Path(_local_path(uri)) / "MLmodel"
    try:
        meta = yaml.safe_load(mlmodel.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return "unversioned"
    run_id, uuid = meta.get("run_id"), meta.get("model_uuid")
    if run_id:
        return f"run-{str(run_id)[:12]}"
    return f"uuid-{str(uuid)[:12]}" if uuid else "unversioned"


def source_for(model_name: str, model_uri: str | None, version: str | None = None) -> ModelSource:
    """``models:/<name>@<alias>`` (or no URI) follows the registry; anything else is fixed."""
    if model_uri is None:
        return RegistrySource(model_name)
    if model_uri.startswith("models:/") and "@" in model_uri:
        name, alias = model_uri[len("models:/") :].rstrip("/").split("@", 1)
        return RegistrySource(name, alias)
    return UriSource(model_uri, model_name, version)


class ModelWatcher:
    """Keeps a ``ModelSnapshot`` in line with the registry, polling every ``interval_s``.

    The first load happens in the watcher's thread, so the server answers ``/health`` (and
    ``/ready`` 503 with the reason) at once, even while the registry cannot be reached.
    A champion alias that disappears does not unload the champion: the last good version
    keeps serving, ``champion_alias_missing`` says so, and the alias coming back is followed.
    """

    def __init__(self, source: ModelSource, interval_s: float, want_challenger: bool) -> None:
        self.source = source
        self.interval_s = interval_s
        self.want_challenger = want_challenger
        self.snapshot = ModelSnapshot()
        self.last_error: str | None = None
        self.champion_alias_missing = False
        self.first_poll_done = threading.Event()
        self.on_first_load: Callable[[], None] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def detail(self) -> str | None:
        """Why the server is not ready, or what is wrong while it serves; None when all is well."""
        alias = getattr(self.source, "alias_of", lambda a: a)(registry.CHAMPION)
        if self.snapshot.champion is None:
            if self.last_error is not None:
                return f"no champion loaded: the model source failed: {self.last_error}"
            if not self.first_poll_done.is_set():
                return "loading the champion"
            return f"no champion loaded: alias '{alias}' of '{self.source.name}' does not exist"
        if self.champion_alias_missing:
            return (
                f"alias '{alias}' of '{self.source.name}' is gone from the registry; "
                f"serving the last good version {self.snapshot.champion.version}"
            )
        if self.last_error is not None:
            return f"the model source failed, still serving the loaded models: {self.last_error}"
        return None

    def refresh(self) -> bool:
        """Loads what the aliases point to now; True when the snapshot changed."""
        with self._lock:
            current = self.snapshot
            champion = self._follow_champion(current)
            challenger = None
            if self.want_challenger:
                challenger = self._follow(registry.CHALLENGER, current.challenger, current)
            new = ModelSnapshot(champion, challenger)
            if new == current:
                return False
            self.snapshot = new
            logger.info(
                "Serving %s: champion %s, challenger %s",
                self.source.name,
                champion and champion.version,
                challenger and challenger.version,
            )
            return True

    def _follow_champion(self, current: ModelSnapshot) -> ServedModel | None:
        champion = self._follow(registry.CHAMPION, current.champion, current)
        alias = getattr(self.source, "alias_of", lambda a: a)(registry.CHAMPION)
        if champion is None and current.champion is not None:
            if not self.champion_alias_missing:
                logger.warning(
                    "The alias '%s' of %s is gone from the registry: still serving the last "
                    "good version %s until it returns",
                    alias,
                    self.source.name,
                    current.champion.version,
                )
            self.champion_alias_missing = True
            return current.champion
        if champion is not None and self.champion_alias_missing:
            logger.warning(
                "The alias '%s' of %s is back: version %s",
                alias,
                self.source.name,
                champion.version,
            )
            self.champion_alias_missing = False
        return champion

    def _follow(
        self, alias: str, held: ServedModel | None, current: ModelSnapshot
    ) -> ServedModel | None:
        version = self.source.resolve(alias)
        if version is None:
            return None
        for candidate in (held, current.champion, current.challenger):
            if candidate is not None and candidate.version == version:
                return candidate
        logger.info("Loading %s version %s for %s", self.source.name, version, alias)
        return self.source.load(version)

    def start(self) -> None:
        """Loads and then polls in a daemon thread (a fixed URI: until loaded)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        loaded = False
        while True:
            self.poll_once()
            self.first_poll_done.set()
            if not loaded and self.snapshot.champion is not None:
                loaded = True
                if self.on_first_load is not None:
                    self.on_first_load()
            if (loaded and not self.source.watches) or self._stop.wait(self.interval_s):
                return

    def poll_once(self) -> None:
        """One refresh that never raises: on failure the current models keep serving."""
        try:
            self.refresh()
            self.last_error = None
        except Exception as error:  # registry down, corrupt artifact, ...: keep serving
            self.last_error = self.source.public(f"{type(error).__name__}: {error}")[:500]
            logger.warning(
                "Model refresh failed, still serving the loaded models: %s", self.last_error
            )

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stops polling; a registry call in flight is not waited for (daemon thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
