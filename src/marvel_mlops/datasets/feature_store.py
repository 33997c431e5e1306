"""The feature store as a Kedro dataset: load a point-in-time lookup, save = publish online."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from kedro.io import AbstractDataset


class FeatureStoreDataset(AbstractDataset):
    """Local feature store (Feast) over the lakehouse's feature tables.

    ``load()`` returns a ``FeatureLookup`` pinned (at first use) to each table's current
    Delta version;
    ``save({"as_of": ...})`` publishes those versions to the online store (SQLite in
    ``repo`` by default; ``online: {type: redis, connection_string: "host:port"}``).

    Example::

        feature_store:
          type: marvel_mlops.datasets.FeatureStoreDataset
          repo: data/feature_store
          tables:
            character_attributes: data/lakehouse/character_attributes
            character_group_features: data/lakehouse/character_group_features
    """

    def __init__(
        self,
        *,
        repo: str,
        tables: dict[str, str],
        online: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._repo = str(PurePosixPath(repo))
        self._tables = dict(tables)
        self._online = online
        self.metadata = metadata

    def _lookup(self) -> Any:
        from marvel_mlops.adapters.feast_store import FeastStore
        from marvel_mlops.features_store.lookup import FeastLookup

        return FeastLookup(FeastStore(self._repo, online=self._online), self._tables)

    def load(self) -> Any:
        return self._lookup()

    def save(self, data: dict[str, Any]) -> None:
        self._lookup().publish(data["as_of"])

    def _describe(self) -> dict[str, Any]:
        return {"repo": self._repo, "tables": self._tables, "online": self._online}
