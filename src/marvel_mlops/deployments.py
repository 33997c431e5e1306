"""What the deployment records say: which model version serves after an event."""

from __future__ import annotations

from typing import Any

import pandas as pd

SERVING_ACTIONS = ("promote", "rollback")


def serving_version(event: dict[str, Any]) -> str | None:
    """The version that serves after a deployment event.

    A promotion or rollback serves the event's version; a refusal leaves the previous
    champion (``None`` when there was none yet).
    """
    if event["action"] in SERVING_ACTIONS:
        return str(event["model_version"])
    previous = event.get("previous_version")
    return None if previous is None or pd.isna(previous) else str(previous)


def latest_serving_version(deployments: pd.DataFrame | None) -> str | None:
    """The version serving after the newest row of the ``deployments`` table, if any."""
    if deployments is None or deployments.empty:
        return None
    newest = deployments.sort_values("deployed_at_utc").iloc[-1]
    return serving_version(newest.to_dict())
