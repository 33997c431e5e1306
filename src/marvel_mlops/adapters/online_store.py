"""Databricks Online Feature Store: the online home of the feature tables.

Uses the real ``databricks-sdk`` (``WorkspaceClient.feature_store``), the same calls
``FeatureEngineeringClient.create_online_store`` / ``get_online_store`` / ``publish_table``
make for a Databricks (Lakebase) online store. The store is created when missing, and
each feature table is published to ``<table>_online`` in ``TRIGGERED`` mode: the sync
pipeline copies the table once, and a later ``publish_table`` call runs it again, copying
only what changed (the source tables carry Change Data Feed for this, see
``adapters.feature_engineering.write_feature_table``). Idempotent: an existing store is
left as it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service.ml import OnlineStore, PublishSpec, PublishSpecPublishMode

logger = logging.getLogger(__name__)

CAPACITIES = ("CU_1", "CU_2", "CU_4", "CU_8")
"""What ``create_online_store`` accepts."""


@dataclass(frozen=True)
class OnlineStoreSpec:
    """The online store the feature tables are published to."""

    name: str
    capacity: str = "CU_1"
    publish_mode: str = "TRIGGERED"

    def __post_init__(self) -> None:
        if self.capacity not in CAPACITIES:
            raise ValueError(f"online_store.capacity: {self.capacity!r} is not one of {CAPACITIES}")
        modes = [m.value for m in PublishSpecPublishMode]
        if self.publish_mode not in modes:
            raise ValueError(
                f"online_store.publish_mode: {self.publish_mode!r} is not one of {modes}"
            )
        if not self.name or len(self.name.encode()) > 63:
            raise ValueError(f"online_store.name: {self.name!r} must be 1 to 63 bytes")


def online_table_name(table: str) -> str:
    """The online copy of a Unity Catalog table (three-level, as ``publish_table`` wants)."""
    if table.count(".") != 2:
        raise ValueError(f"feature table {table!r} is not <catalog>.<schema>.<table>")
    return f"{table}_online"


def ensure_online_store(client: WorkspaceClient, spec: OnlineStoreSpec) -> dict[str, Any]:
    """Creates the online store when it does not exist; says which."""
    try:
        store = client.feature_store.get_online_store(spec.name)
    except NotFound:
        client.feature_store.create_online_store(
            OnlineStore(name=spec.name, capacity=spec.capacity)
        )
        logger.info("Created online store %s (%s)", spec.name, spec.capacity)
        return {"online_store": spec.name, "action": "created"}
    state = store.state.value if store.state else None
    return {"online_store": spec.name, "action": "unchanged", "state": state}


def publish_tables(
    client: WorkspaceClient, spec: OnlineStoreSpec, tables: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Publishes (or syncs again) each feature table to the store; name → online table, pipeline."""
    published = {}
    for name, table in tables.items():
        response = client.feature_store.publish_table(
            table,
            PublishSpec(
                online_store=spec.name,
                online_table_name=online_table_name(table),
                publish_mode=PublishSpecPublishMode(spec.publish_mode),
            ),
        )
        published[name] = {
            "online_table": response.online_table_name or online_table_name(table),
            "pipeline_id": response.pipeline_id,
        }
        logger.info("Published %s to %s in %s", table, published[name]["online_table"], spec.name)
    return published
