"""The MLflow model registry as Kedro datasets: models by alias, registrations, aliases.

Nodes never call the registry: they read these datasets and return plain values
(``marvel_mlops.registry_changes``) that these datasets carry out on ``save``.
"""

from __future__ import annotations

import logging
from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import DatasetError

from marvel_mlops.adapters import registry
from marvel_mlops.registry_changes import (
    PREDECESSOR_TAG,
    ROLLED_BACK_TAG,
    ROLLED_BACK_VERSIONS_TAG,
    SERVING_ALIASES,
    AliasPlan,
    AliasState,
    RegistrationRequest,
    serving_lookups,
)

logger = logging.getLogger(__name__)
MAX_CHAIN = 1000
"""Bound on the predecessor chain read by ``ModelAliasesDataset`` (a guard against cycles)."""


class RegisteredModelDataset(AbstractDataset):
    """Loads the model version behind ``alias``, else behind ``fallback_alias``.

    ``None`` when neither exists and ``optional``; otherwise a clear error. Example::

        champion_model:
          type: marvel_mlops.datasets.RegisteredModelDataset
          model_name: ${globals:model_name}
          alias: champion
          optional: true
    """

    def __init__(
        self,
        *,
        model_name: str,
        alias: str,
        fallback_alias: str | None = None,
        optional: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._model_name, self._alias, self._fallback = model_name, alias, fallback_alias
        self._optional = optional
        self.metadata = metadata

    def _resolve(self) -> tuple[str, str] | None:
        for alias in (self._alias, self._fallback):
            if alias and (version := registry.version_for_alias(self._model_name, alias)):
                if alias != self._alias:
                    logger.warning(
                        "No '%s' version of %s: using '%s'", self._alias, self._model_name, alias
                    )
                return alias, version
        return None

    def load(self) -> registry.RegisteredModel | None:
        found = self._resolve()
        if found is None:
            if self._optional:
                return None
            aliases = " or ".join(f"'{a}'" for a in (self._alias, self._fallback) if a)
            raise DatasetError(
                f"Model '{self._model_name}' has no version with alias {aliases}: "
                "run the training (and deployment) pipelines first"
            )
        alias, version = found
        return registry.load_version(self._model_name, version, alias)

    def save(self, data: Any) -> None:
        raise DatasetError(
            "RegisteredModelDataset is read-only: models are registered through "
            "ModelRegistrationDataset"
        )

    def _exists(self) -> bool:
        return self._resolve() is not None

    def _describe(self) -> dict[str, Any]:
        return {"model_name": self._model_name, "alias": self._alias, "optional": self._optional}


class ModelRegistrationDataset(AbstractDataset):
    """Saves a ``RegistrationRequest``: logs the training context and the model in the active
    MLflow run, registers a new version, tags it and points ``alias`` at it. Loads the version
    behind ``alias`` as a record (model_name, version, run_id, alias, tags).

    ``feature_lookup: true`` (Databricks) logs a model that looks features up through
    ``FeatureEngineeringClient.log_model`` with its feature spec, so that Model Serving
    completes requests that carry only ``page_id`` and ``event_timestamp`` from the online
    store (locally the REST server reads the ``feature_spec`` tag instead).
    """

    def __init__(
        self,
        *,
        model_name: str,
        alias: str,
        feature_lookup: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._model_name, self._alias = model_name, alias
        self._feature_lookup = feature_lookup
        self.metadata = metadata

    def _training_set(self, data: RegistrationRequest) -> Any:
        """The Databricks training set whose feature spec the version carries, or ``None``."""
        lookups = serving_lookups(data.tags) if self._feature_lookup else {}
        if not lookups:
            return None
        from marvel_mlops.adapters.feature_engineering import serving_training_set

        return serving_training_set(data.training_rows, lookups)

    def save(self, data: RegistrationRequest) -> None:
        registry.log_training_context(
            data.training_rows,
            data.train_set_version,
            data.test_set_version,
            data.hyperparameters,
            data.tags,
        )
        registration = registry.log_and_register(
            data.python_model,
            self._model_name,
            data.signature,
            data.input_example,
            data.tags,
            training_set=self._training_set(data),
        )
        registry.set_alias(self._model_name, self._alias, registration["version"])
        logger.info(
            "%s version %s is the new %s", self._model_name, registration["version"], self._alias
        )

    def load(self) -> dict[str, Any]:
        version = registry.version_for_alias(self._model_name, self._alias)
        if version is None:
            raise DatasetError(
                f"Model '{self._model_name}' has no '{self._alias}' version: "
                "run the training pipeline first"
            )
        details = registry.client().get_model_version(self._model_name, version)
        return {
            "model_name": self._model_name,
            "version": version,
            "run_id": details.run_id,
            "alias": self._alias,
            "tags": dict(details.tags),
        }

    def _describe(self) -> dict[str, Any]:
        return {
            "model_name": self._model_name,
            "alias": self._alias,
            "feature_lookup": self._feature_lookup,
        }


class ModelAliasesDataset(AbstractDataset):
    """Loads an ``AliasState`` (the serving aliases, the model's tags, and the tags along
    each alias's predecessor chain as far as rolled-back versions reach); saves an ``AliasPlan`` (tags first, then aliases set, then removed).

    A load and a save of the same model are two catalog entries (a node may not read and
    write one dataset)."""

    def __init__(self, *, model_name: str, metadata: dict[str, Any] | None = None) -> None:
        self._model_name = model_name
        self.metadata = metadata

    def load(self) -> AliasState:
        aliases = {
            alias: version
            for alias in SERVING_ALIASES
            if (version := registry.version_for_alias(self._model_name, alias)) is not None
        }
        model_tags = registry.model_tags(self._model_name)
        listed = set(model_tags.get(ROLLED_BACK_VERSIONS_TAG, "").split(","))
        tags: dict[str, dict[str, str]] = {}
        for start in aliases.values():
            version: str | None = start
            # Past an alias's version the chain matters only while versions are rolled back
            # (the planner skips them): stop at the first one that is not.
            while version and version not in tags and len(tags) < MAX_CHAIN:
                tags[version] = registry.version_tags(self._model_name, version)
                rolled_back = version in listed or tags[version].get(ROLLED_BACK_TAG) == "true"
                if version != start and not rolled_back:
                    break
                version = tags[version].get(PREDECESSOR_TAG)
        return AliasState(self._model_name, aliases, tags, model_tags)

    def save(self, data: AliasPlan) -> None:
        if data.model_name != self._model_name:
            raise DatasetError(
                f"Alias plan for model '{data.model_name}' saved to the aliases of "
                f"'{self._model_name}'"
            )
        if data.tag_model:
            registry.tag_model(self._model_name, data.tag_model)
        for version, tags in data.tag_versions.items():
            registry.tag_version(self._model_name, version, tags)
        for alias, version in data.set_aliases.items():
            registry.set_alias(self._model_name, alias, version)
        for alias in data.delete_aliases:
            registry.delete_alias(self._model_name, alias)

    def _describe(self) -> dict[str, Any]:
        return {"model_name": self._model_name}
