"""Databricks Feature Serving: an endpoint that returns a character's features by key.

The endpoint serves a Unity Catalog feature spec (``<catalog>.<schema>.<name>``, created by
``FeatureEngineeringClient.create_feature_spec`` from the feature tables' lookups) as a
served entity without a version, like Databricks' Feature Serving examples. Uses the real
``databricks-sdk``; idempotent: when the endpoint already serves the spec, only a read is sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service.serving import EndpointCoreConfigInput, ServedEntityInput

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureEndpointSpec:
    """What the Feature Serving endpoint should serve."""

    name: str
    feature_spec: str  # catalog.schema.name of the feature spec
    workload_size: str = "Small"
    scale_to_zero: bool = True

    def served_entities(self) -> list[ServedEntityInput]:
        """One served entity: the feature spec."""
        return [
            ServedEntityInput(
                name="features",
                entity_name=self.feature_spec,
                workload_size=self.workload_size,
                scale_to_zero_enabled=self.scale_to_zero,
            )
        ]


def _serves(endpoint: Any, spec: FeatureEndpointSpec) -> bool:
    config = endpoint.config
    entities = (config.served_entities or []) if config else []
    return [e.entity_name for e in entities] == [spec.feature_spec]


def ensure_feature_endpoint(client: WorkspaceClient, spec: FeatureEndpointSpec) -> dict[str, Any]:
    """Creates the Feature Serving endpoint, points it at the spec, or leaves it; says which."""
    try:
        endpoint = client.serving_endpoints.get(spec.name)
    except NotFound:
        client.serving_endpoints.create(
            spec.name,
            config=EndpointCoreConfigInput(name=spec.name, served_entities=spec.served_entities()),
        )
        logger.info("Created feature serving endpoint %s for %s", spec.name, spec.feature_spec)
        return {"endpoint": spec.name, "action": "created"}
    if _serves(endpoint, spec):
        return {"endpoint": spec.name, "action": "unchanged"}
    client.serving_endpoints.update_config(spec.name, served_entities=spec.served_entities())
    logger.info("Feature serving endpoint %s now serves %s", spec.name, spec.feature_spec)
    return {"endpoint": spec.name, "action": "updated"}


def ensure_feature_spec(name: str, lookups: dict[str, list[str]]) -> bool:
    """Creates the Unity Catalog feature spec once (Databricks runtimes only); True if created."""
    from marvel_mlops.adapters.feature_engineering import client, feature_lookups

    try:
        client().create_feature_spec(name=name, features=feature_lookups(lookups, None))
    except Exception as error:  # the SDK raises a generic error when the spec exists
        if "already exists" not in str(error).lower():
            raise
        return False
    return True
