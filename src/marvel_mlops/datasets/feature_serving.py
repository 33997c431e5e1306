"""A Databricks Feature Serving endpoint as a Kedro dataset: save the wanted state, it is applied."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

logger = logging.getLogger(__name__)


class FeatureServingEndpointDataset(AbstractDataset):
    """Saves a Feature Serving spec (``feature_serving_spec``'s dict): creates the Unity
    Catalog feature spec once (``databricks-feature-engineering``, on Databricks runtimes),
    then creates or points the endpoint at it through the real ``databricks-sdk`` (nothing is
    sent but a read when it already serves that spec), and writes the spec with the outcome
    to ``filepath``; loads that.

    ``create_feature_spec: false`` leaves the feature spec to someone else (it must exist).
    ``client_config`` goes to ``WorkspaceClient`` (default: the job's own authentication).
    Example::

        feature_serving_endpoint:
          type: marvel_mlops.datasets.FeatureServingEndpointDataset
          filepath: /Volumes/<catalog>/<schema>/<volume>/reports/feature_serving_endpoint.json
    """

    def __init__(
        self,
        *,
        filepath: str,
        create_feature_spec: bool = True,
        client_config: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = Path(filepath)
        self._create_feature_spec = create_feature_spec
        self._client_config = client_config or {}
        self.metadata = metadata

    def save(self, data: dict[str, Any]) -> None:
        from databricks.sdk import WorkspaceClient

        from marvel_mlops.adapters.feature_serving import (
            FeatureEndpointSpec,
            ensure_feature_endpoint,
            ensure_feature_spec,
        )

        created = None
        if self._create_feature_spec:
            created = ensure_feature_spec(data["feature_spec"], data["lookups"])
        spec = FeatureEndpointSpec(
            data["name"], data["feature_spec"], data["workload_size"], data["scale_to_zero"]
        )
        outcome = ensure_feature_endpoint(WorkspaceClient(**self._client_config), spec)
        record = {**data, **outcome, "feature_spec_created": created}
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        self._filepath.write_text(json.dumps(record, indent=2))

    def load(self) -> dict[str, Any]:
        return json.loads(self._filepath.read_text())

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "create_feature_spec": self._create_feature_spec}
