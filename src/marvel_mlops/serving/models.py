"""The models being served and the watcher that follows the registry aliases.

A ``ModelSnapshot`` (champion, optional challenger) is immutable; the watcher loads and
warms up a new version completely before it replaces the snapshot in one assignment,
so a request always scores with a whole model, old or new, never a half-loaded one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from marvel_mlops.adapters import registry

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
        probabilities = self.booster.predict(matrix, num_threads=1).tolist()
        threshold = self.threshold
        return probabilities, [1 if p >= threshold else 0 for p in probabilities]


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


class RegistrySource:
    """Versions behind registry aliases (``champion``, ``challenger``)."""

    watches = True

    def __init__(self, name: str, champion_alias: str = registry.CHAMPION) -> None:
        self.name = name
        self.champion_alias = champion_alias

    def resolve(self, alias: str) -> str | None:
        name = self.champion_alias if alias == registry.CHAMPION else alias
        return registry.version_for_alias(self.name, name)

    def load(self, version: str) -> ServedModel:
        loaded = registry.load_version(self.name, version)
        return ServedModel.from_pyfunc(loaded.pyfunc, self.name, version)


class UriSource:
    """One fixed model (a path, ``runs:/...`` or ``models:/name/<version>``): no challenger."""

    watches = False

    def __init__(self, uri: str, version: str | None = None) -> None:
        self.uri = uri
        self.name = uri
        self.version = version or _version_in_uri(uri) or registry_label(uri)

    def resolve(self, alias: str) -> str | None:
        return self.version if alias == registry.CHAMPION else None

    def load(self, version: str) -> ServedModel:
        import mlflow

        pyfunc = mlflow.pyfunc.load_model(self.uri, model_config={"model_version": version})
        return ServedModel.from_pyfunc(pyfunc, self.name, version)


def registry_label(uri: str) -> str:
    """A version label for an unregistered model: its URI."""
    return uri


def _version_in_uri(uri: str) -> str | None:
    if uri.startswith("models:/") and "@" not in uri:
        last = uri.rstrip("/").rsplit("/", 1)[-1]
        return last if last.isdigit() else None
    return None


def source_for(model_name: str, model_uri: str | None, version: str | None = None) -> ModelSource:
    """``models:/<name>@<alias>`` (or no URI) follows the registry; anything else is fixed."""
    if model_uri is None:
        return RegistrySource(model_name)
    if model_uri.startswith("models:/") and "@" in model_uri:
        name, alias = model_uri[len("models:/") :].rstrip("/").split("@", 1)
        return RegistrySource(name, alias)
    return UriSource(model_uri, version)


class ModelWatcher:
    """Keeps a ``ModelSnapshot`` in line with the registry, polling every ``interval_s``."""

    def __init__(self, source: ModelSource, interval_s: float, want_challenger: bool) -> None:
        self.source = source
        self.interval_s = interval_s
        self.want_challenger = want_challenger
        self.snapshot = ModelSnapshot()
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def refresh(self) -> bool:
        """Loads what the aliases point to now; True when the snapshot changed."""
        with self._lock:
            current = self.snapshot
            champion = self._follow(registry.CHAMPION, current.champion, current)
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
        """Polls in a daemon thread (only for registry aliases)."""
        if not self.source.watches or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.poll_once()

    def poll_once(self) -> None:
        """One refresh that never raises: on failure the current models keep serving."""
        try:
            self.refresh()
            self.last_error = None
        except Exception as error:  # registry down, corrupt artifact, ...: keep serving
            self.last_error = f"{type(error).__name__}: {error}"
            logger.warning("Model refresh failed, still serving the loaded models: %s", error)

    def stop(self) -> None:
        """Stops polling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
