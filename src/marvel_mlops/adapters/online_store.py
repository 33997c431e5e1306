"""Databricks Online Feature Store: the online home of the feature tables.

Uses the real ``databricks-sdk`` (``WorkspaceClient.feature_store``), the same calls
``FeatureEngineeringClient.create_online_store`` / ``get_online_store`` / ``publish_table``
make for a Databricks (Lakebase) online store. The store is created when missing and
waited for until it is ``AVAILABLE`` (a new store starts as ``STARTING``; a stopped or
deleting one is an error naming its state). Each feature table is then published to
``<table>_online`` in ``TRIGGERED`` mode, which requires Change Data Feed on the source
table (``adapters.feature_engineering.write_feature_table`` keeps it on). Each run calls
``publish_table`` again for every table, the refresh Databricks recommends for a
triggered online table (the sync pipeline keeps its id); that a repeated call refreshes
rather than fails could not be checked without a workspace.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service.ml import (
    OnlineStore,
    OnlineStoreState,
    PublishSpec,
    PublishSpecPublishMode,
)

logger = logging.getLogger(__name__)

CAPACITIES = ("CU_1", "CU_2", "CU_4", "CU_8")
"""What ``create_online_store`` accepts."""


@dataclass(frozen=True)
class OnlineStoreSpec:
    """The online store the feature tables are published to."""

    name: str
    capacity: str = "CU_1"
    publish_mode: str = "TRIGGERED"
    available_timeout_s: float = 1200.0
    poll_s: float = 15.0

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


class OnlineStoreUnavailable(RuntimeError):
    """The online store cannot take a publication (stopped, deleting, or never started)."""


def ensure_online_store(client: WorkspaceClient, spec: OnlineStoreSpec) -> dict[str, Any]:
    """Creates the online store when it does not exist and waits until it is available;
    says whether it was created."""
    try:
        store = client.feature_store.get_online_store(name=spec.name)
        action = "unchanged"
    except NotFound:
        store = client.feature_store.create_online_store(
            online_store=OnlineStore(name=spec.name, capacity=spec.capacity)
        )
        action = "created"
        logger.info("Created online store %s (%s)", spec.name, spec.capacity)
    wait_until_available(client, spec, store.state)
    return {"online_store": spec.name, "action": action}


def wait_until_available(
    client: WorkspaceClient, spec: OnlineStoreSpec, state: OnlineStoreState | None
) -> None:
    """Polls the store until ``AVAILABLE``; a stopped or deleting store, or the timeout,
    raises ``OnlineStoreUnavailable`` naming the state."""
    deadline = time.monotonic() + spec.available_timeout_s
    while state != OnlineStoreState.AVAILABLE:
        if state in (OnlineStoreState.STOPPED, OnlineStoreState.DELETING):
            raise OnlineStoreUnavailable(
                f"online store {spec.name} is {state.value}: start it in the workspace first"
            )
        if time.monotonic() > deadline:
            shown = state.value if state else "unknown"
            raise OnlineStoreUnavailable(
                f"online store {spec.name} still {shown} after {spec.available_timeout_s:.0f} s"
            )
        time.sleep(spec.poll_s)
        state = client.feature_store.get_online_store(name=spec.name).state


def publish_tables(
    client: WorkspaceClient, spec: OnlineStoreSpec, tables: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Publishes (or syncs again) each feature table to the store; name → online table, pipeline."""
    published = {}
    for name, table in tables.items():
        response = client.feature_store.publish_table(
            source_table_name=table,
            publish_spec=PublishSpec(
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
