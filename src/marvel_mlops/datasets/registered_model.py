"""A registered model version, found by alias, as a Kedro dataset."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import DatasetError

from marvel_mlops.adapters import registry


class RegisteredModelDataset(AbstractDataset):
    """Loads the model version behind ``alias`` (``None`` if absent and ``optional``).

    Example::

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
        optional: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._model_name = model_name
        self._alias = alias
        self._optional = optional
        self.metadata = metadata

    def load(self) -> registry.RegisteredModel | None:
        model = registry.load_alias(self._model_name, self._alias)
        if model is None and not self._optional:
            raise DatasetError(
                f"Model '{self._model_name}' has no version with alias "
                f"'{self._alias}': run the training pipeline first"
            )
        return model

    def save(self, data: Any) -> None:
        raise DatasetError(
            "Registered models are written by the training pipeline's "
            "registration node, not saved through this dataset"
        )

    def _exists(self) -> bool:
        return registry.version_for_alias(self._model_name, self._alias) is not None

    def _describe(self) -> dict[str, Any]:
        return {"model_name": self._model_name, "alias": self._alias, "optional": self._optional}
