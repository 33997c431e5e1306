"""deployment nodes: registry aliases, the deployments log, Spark batch scoring, serving.

Every step is safe to re-run: a promotion already applied is recognised and recorded
under the same ``deployment_id``; predictions are merged on (page_id, model_version).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from marvel_mlops.adapters import registry
from marvel_mlops.data.schema import FEATURE_COLUMNS, KEY_COLUMN
from marvel_mlops.errors import PlainError
from marvel_mlops.lineage import lineage_tags

logger = logging.getLogger(__name__)
ACTIONS = ("promote", "rollback")
PREDECESSOR_TAG = "previous_champion_version"
"""Set on a version when it becomes champion: the champion it replaced (the rollback chain)."""


class NothingToRollBackError(PlainError, RuntimeError):
    """There is no earlier champion to go back to."""


def _event(
    action: str, params: dict, version: str | None, previous: str | None, reason: str
) -> dict[str, Any]:
    identity = f"{params['model_name']}|{action}|{version}|{previous}"
    return {
        "deployment_id": hashlib.sha256(identity.encode()).hexdigest()[:32],
        "action": action,
        "model_name": params["model_name"],
        "model_version": version,
        "previous_version": previous,
        "reason": reason,
    }


def _promote(decision: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    name, candidate = params["model_name"], str(decision["challenger_version"])
    champion = registry.version_for_alias(name, registry.CHAMPION)
    reasons = "; ".join(decision["reasons"])
    if not decision["promote"]:
        return _event("refuse", params, candidate, champion, reasons)
    if registry.version_tags(name, candidate).get("rolled_back") == "true":
        return _event(
            "refuse",
            params,
            candidate,
            champion,
            f"version {candidate} was rolled back; train a new challenger",
        )
    if champion == candidate:  # already applied by an earlier run: same event again
        previous = registry.version_for_alias(name, registry.PREVIOUS_CHAMPION)
        return _event("promote", params, candidate, previous, reasons)
    if champion is not None:
        registry.tag_version(name, candidate, {PREDECESSOR_TAG: champion})
        registry.set_alias(name, registry.PREVIOUS_CHAMPION, champion)
    registry.set_alias(name, registry.CHAMPION, candidate)
    logger.info("%s: champion %s -> %s", name, champion, candidate)
    return _event("promote", params, candidate, champion, reasons)


def _predecessor(name: str, version: str) -> str | None:
    """The champion before ``version``, skipping versions that were rolled back."""
    seen = {version}
    previous = registry.version_tags(name, version).get(PREDECESSOR_TAG)
    while previous and previous not in seen:
        seen.add(previous)
        tags = registry.version_tags(name, previous)
        if tags.get("rolled_back") != "true":
            return previous
        previous = tags.get(PREDECESSOR_TAG)
    return None


def rollback_refusal(name: str) -> str | None:
    """Why ``name`` cannot be rolled back, in one line, or ``None`` when it can."""
    if registry.version_for_alias(name, registry.PREVIOUS_CHAMPION) is not None:
        return None
    current = registry.version_for_alias(name, registry.CHAMPION)
    if current is None:
        return f"Nothing to roll back: {name} has no champion yet."
    return (
        f"Nothing to roll back: {name} version {current} is the champion and there is no "
        f"earlier champion to go back to (no '{registry.PREVIOUS_CHAMPION}' alias)."
    )


def _rollback(params: dict[str, Any]) -> dict[str, Any]:
    """champion := previous-champion; the rolled-back version loses every serving alias.

    ``previous-champion`` moves one step further back along the promotion chain (or is
    removed when there is none), so a second rollback goes back again.
    """
    name = params["model_name"]
    refusal = rollback_refusal(name)
    if refusal:
        raise NothingToRollBackError(refusal)
    previous = registry.version_for_alias(name, registry.PREVIOUS_CHAMPION)
    current = registry.version_for_alias(name, registry.CHAMPION)
    registry.set_alias(name, registry.CHAMPION, previous)
    if current is not None and current != previous:
        registry.tag_version(name, current, {"rolled_back": "true"})
        if registry.version_for_alias(name, registry.CHALLENGER) == current:
            registry.delete_alias(name, registry.CHALLENGER)
    before = _predecessor(name, previous)
    if before is None:
        registry.delete_alias(name, registry.PREVIOUS_CHAMPION)
    else:
        registry.set_alias(name, registry.PREVIOUS_CHAMPION, before)
    logger.info("%s: rolled back champion %s -> %s (previous: %s)", name, current, previous, before)
    return _event("rollback", params, previous, current, f"rollback from version {current}")


def apply_deployment(decision: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Moves the aliases as the decision (or a rollback request) says; returns the event."""
    action = params["action"]
    if action not in ACTIONS:
        raise ValueError(f"deployment.action '{action}' is not one of {ACTIONS}")
    return _promote(decision, params) if action == "promote" else _rollback(params)


def deployment_record(event: dict[str, Any]) -> pd.DataFrame:
    """One row of the ``deployments`` table, with when, by which commit and run."""
    tags = lineage_tags()
    row = {
        **event,
        "deployed_at_utc": pd.Timestamp(datetime.now(UTC)),
        "git_commit": tags["git_commit"],
        "kedro_run_id": tags["kedro_run_id"],
        "environment": tags["kedro_env"],
    }
    return pd.DataFrame([row]).astype({"model_version": "string", "previous_version": "string"})


def select_scoring_input(scoring_input: Any, test_set: Any, params: dict[str, Any]) -> Any:
    """The ``scoring_input`` table when it exists, else (by default) the test set."""
    if scoring_input is not None:
        return scoring_input
    if not params["batch_scoring"]["fallback_to_test_set"]:
        raise ValueError(
            "No scoring_input table and deployment.batch_scoring.fallback_to_test_set is false"
        )
    logger.info("No scoring_input table: scoring the test set")
    return test_set


PREDICTION_SCHEMA = "page_id string, probability double, label int, model_version string"


def score_batch(batch: Any, champion: registry.RegisteredModel, event: dict[str, Any]) -> Any:
    """Scores on Spark with the champion in a pandas UDF (``mapInPandas``), where the data is.

    The champion's pyfunc object travels to the executors; each Arrow batch is scored
    with the same ``predict`` as the registered model.
    """
    from pyspark.sql import functions as F

    model = champion.python_model
    columns = [KEY_COLUMN, *FEATURE_COLUMNS]

    def predict(frames):
        for frame in frames:
            out = model.predict(None, frame)
            yield pd.DataFrame(
                {
                    KEY_COLUMN: frame[KEY_COLUMN],
                    "probability": out["probability"],
                    "label": out["label"].astype("int32"),
                    "model_version": out["model_version"],
                }
            )

    selected = batch.select(
        *[F.col(c) if c in batch.columns else F.lit(None).cast("string").alias(c) for c in columns]
    )
    scored = selected.mapInPandas(predict, PREDICTION_SCHEMA)
    logger.info("Batch scoring with %s version %s", champion.name, champion.version)
    return scored.withColumn("scored_at", F.current_timestamp())


def sync_serving_endpoint(event: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Creates/updates the Databricks serving endpoint (only when enabled for the env)."""
    endpoint = params["endpoint"]
    if not endpoint.get("enabled", False):
        return {"endpoint": endpoint["name"], "action": "skipped (not enabled in this env)"}
    from databricks.sdk import WorkspaceClient

    from marvel_mlops.adapters.model_serving import EndpointSpec, ensure_endpoint

    name = params["model_name"]
    spec = EndpointSpec(
        name=endpoint["name"],
        model_name=name,
        champion_version=registry.version_for_alias(name, registry.CHAMPION),
        challenger_version=registry.version_for_alias(name, registry.CHALLENGER),
        challenger_share=params["serving"]["ab_challenger_share"],
        workload_size=endpoint["workload_size"],
        scale_to_zero=endpoint["scale_to_zero"],
        inference_table=tuple(endpoint["inference_table"])
        if endpoint.get("ai_gateway_inference_table")
        else None,
    )
    return {**ensure_endpoint(WorkspaceClient(), spec), "deployment_id": event["deployment_id"]}
