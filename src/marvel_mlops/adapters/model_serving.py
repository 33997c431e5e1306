"""Databricks Model Serving: create or update the endpoint for champion (and challenger).

Uses the real ``databricks-sdk``. Idempotent: when the endpoint already serves the
wanted versions with the wanted traffic split, nothing is sent but the read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service.serving import (
    AiGatewayConfig,
    AiGatewayInferenceTableConfig,
    EndpointCoreConfigInput,
    Route,
    ServedEntityInput,
    TrafficConfig,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EndpointSpec:
    """What the endpoint should serve."""

    name: str
    model_name: str
    champion_version: str
    challenger_version: str | None = None
    challenger_share: float = 0.0
    workload_size: str = "Small"
    scale_to_zero: bool = True
    inference_table: tuple[str, str, str] | None = None  # catalog, schema, table prefix

    def served_entities(self) -> list[ServedEntityInput]:
        """The champion, plus the challenger when it gets traffic."""
        entities = [self._entity("champion", self.champion_version)]
        if self.ab_enabled:
            entities.append(self._entity("challenger", str(self.challenger_version)))
        return entities

    @property
    def ab_enabled(self) -> bool:
        """True when a distinct challenger receives a share of the traffic."""
        return (
            self.challenger_version not in (None, self.champion_version)
            and self.challenger_share > 0
        )

    def routes(self) -> list[Route]:
        """Traffic split in whole percentages that add up to 100."""
        if not self.ab_enabled:
            return [Route(served_entity_name="champion", traffic_percentage=100)]
        challenger = round(self.challenger_share * 100)
        return [
            Route(served_entity_name="champion", traffic_percentage=100 - challenger),
            Route(served_entity_name="challenger", traffic_percentage=challenger),
        ]

    def _entity(self, name: str, version: str) -> ServedEntityInput:
        return ServedEntityInput(
            name=name,
            entity_name=self.model_name,
            entity_version=version,
            workload_size=self.workload_size,
            scale_to_zero_enabled=self.scale_to_zero,
        )


def _current(endpoint: Any) -> tuple[set, set]:
    config = endpoint.config
    if config is None:
        return set(), set()
    entities = {
        (e.name, e.entity_name, str(e.entity_version)) for e in config.served_entities or []
    }
    routes = {
        (r.served_entity_name, r.traffic_percentage)
        for r in (config.traffic_config.routes if config.traffic_config else [])
    }
    return entities, routes


def _wanted(spec: EndpointSpec) -> tuple[set, set]:
    entities = {(e.name, e.entity_name, e.entity_version) for e in spec.served_entities()}
    return entities, {(r.served_entity_name, r.traffic_percentage) for r in spec.routes()}


def _gateway(spec: EndpointSpec) -> AiGatewayConfig | None:
    if spec.inference_table is None:
        return None
    catalog, schema, prefix = spec.inference_table
    return AiGatewayConfig(
        inference_table_config=AiGatewayInferenceTableConfig(
            catalog_name=catalog, schema_name=schema, table_name_prefix=prefix, enabled=True
        )
    )


def ensure_endpoint(client: WorkspaceClient, spec: EndpointSpec) -> dict[str, Any]:
    """Creates the endpoint, updates its served entities, or leaves it; says which."""
    try:
        endpoint = client.serving_endpoints.get(spec.name)
    except NotFound:
        client.serving_endpoints.create(
            spec.name,
            config=EndpointCoreConfigInput(
                name=spec.name,
                served_entities=spec.served_entities(),
                traffic_config=TrafficConfig(routes=spec.routes()),
            ),
            ai_gateway=_gateway(spec),
        )
        logger.info("Created serving endpoint %s", spec.name)
        return {"endpoint": spec.name, "action": "created"}
    action = "unchanged"
    if _current(endpoint) != _wanted(spec):
        client.serving_endpoints.update_config(
            spec.name,
            served_entities=spec.served_entities(),
            traffic_config=TrafficConfig(routes=spec.routes()),
        )
        action = "updated"
    gateway = _gateway(spec)
    current_table = getattr(getattr(endpoint, "ai_gateway", None), "inference_table_config", None)
    if gateway is not None and current_table != gateway.inference_table_config:
        client.serving_endpoints.put_ai_gateway(
            spec.name, inference_table_config=gateway.inference_table_config
        )
        action = "updated"
    logger.info("Serving endpoint %s: %s", spec.name, action)
    return {"endpoint": spec.name, "action": action}
