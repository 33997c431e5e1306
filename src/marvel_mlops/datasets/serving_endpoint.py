"""A Databricks Model Serving endpoint as a Kedro dataset: save the wanted state, it is applied."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

logger = logging.getLogger(__name__)


class ModelServingEndpointDataset(AbstractDataset):
    """Saves an endpoint spec (``serving_endpoint_spec``'s dict): creates or updates the
    endpoint through the real ``databricks-sdk`` (nothing is sent when it already serves
    the wanted versions) and writes the spec with the outcome to ``filepath``; loads that.

    ``client_config`` goes to ``WorkspaceClient`` (default: the job's own authentication;
    credentials belong in ``conf/local`` or environment variables). Example::

        serving_endpoint:
          type: marvel_mlops.datasets.ModelServingEndpointDataset
          filepath: /Volumes/<catalog>/<schema>/<volume>/reports/serving_endpoint.json
    """

    def __init__(
        self,
        *,
        filepath: str,
        client_config: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = Path(filepath)
        self._client_config = client_config or {}
        self.metadata = metadata

    def save(self, data: dict[str, Any]) -> None:
        from databricks.sdk import WorkspaceClient

        from marvel_mlops.adapters.model_serving import EndpointSpec, ensure_endpoint

        if data.get("champion_version") is None:
            logger.warning("Serving endpoint %s: no champion yet, nothing to serve", data["name"])
            outcome = {"endpoint": data["name"], "action": "skipped (no champion)"}
        else:
            table = data.get("inference_table")
            spec = EndpointSpec(**{**data, "inference_table": tuple(table) if table else None})
            outcome = ensure_endpoint(WorkspaceClient(**self._client_config), spec)
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        self._filepath.write_text(json.dumps({**data, **outcome}, indent=2))

    def load(self) -> dict[str, Any]:
        return json.loads(self._filepath.read_text())

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
