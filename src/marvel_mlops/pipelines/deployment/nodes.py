"""deployment nodes: registry aliases, the deployments log, Spark batch scoring, serving.

Every step is safe to re-run: a promotion already applied is recognised and recorded
under the same ``deployment_id``; predictions are merged on (page_id, model_version).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from marvel_mlops.adapters.registry import RegisteredModel
from marvel_mlops.data.schema import FEATURE_COLUMNS, KEY_COLUMN
from marvel_mlops.deployments import serving_version
from marvel_mlops.errors import PlainError
from marvel_mlops.features_store.definitions import FEATURE_TABLES
from marvel_mlops.model.looked_up import looked_up_columns
from marvel_mlops.model.scoring import BatchScorer
from marvel_mlops.registry_changes import (
    CHALLENGER,
    CHAMPION,
    PREDECESSOR_TAG,
    PREVIOUS_CHAMPION,
    ROLLED_BACK_TAG,
    ROLLED_BACK_VERSIONS_TAG,
    AliasPlan,
    AliasState,
)

logger = logging.getLogger(__name__)
ACTIONS = ("promote", "rollback")


class NothingToRollBackError(PlainError, RuntimeError):
    """There is no earlier champion to go back to."""


class ChampionMovedError(PlainError, RuntimeError):
    """The champion alias moved between this deployment and its batch scoring."""


class UnknownKeysError(PlainError, LookupError):
    """Batch rows whose keys have no features in the feature tables."""


def _event(
    action: str, model_name: str, version: str | None, previous: str | None, reason: str
) -> dict[str, Any]:
    identity = f"{model_name}|{action}|{version}|{previous}"
    return {
        "deployment_id": hashlib.sha256(identity.encode()).hexdigest()[:32],
        "action": action,
        "model_name": model_name,
        "model_version": version,
        "previous_version": previous,
        "reason": reason,
    }


def _promote(decision: dict[str, Any], state: AliasState) -> tuple[AliasPlan, dict[str, Any]]:
    name, candidate = state.model_name, str(decision["challenger_version"])
    champion = state.version(CHAMPION)
    reasons = "; ".join(decision["reasons"])
    no_change = AliasPlan(name)
    if not decision["promote"]:
        return no_change, _event("refuse", name, candidate, champion, reasons)
    if state.rolled_back(candidate):
        why = f"version {candidate} was rolled back; train a new challenger"
        return no_change, _event("refuse", name, candidate, champion, why)
    if champion == candidate:  # already applied by an earlier run: same event again
        previous = state.version(PREVIOUS_CHAMPION)
        return no_change, _event("promote", name, candidate, previous, reasons)
    if champion is None:
        return AliasPlan(name, {CHAMPION: candidate}), _event(
            "promote", name, candidate, None, reasons
        )
    plan = AliasPlan(
        name,
        set_aliases={PREVIOUS_CHAMPION: champion, CHAMPION: candidate},
        tag_versions={candidate: {PREDECESSOR_TAG: champion}},
    )
    return plan, _event("promote", name, candidate, champion, reasons)


def _predecessor(state: AliasState, version: str) -> str | None:
    """The champion before ``version``, skipping versions that were rolled back."""
    seen = {version}
    previous = state.version_tags(version).get(PREDECESSOR_TAG)
    while previous and previous not in seen:
        seen.add(previous)
        if not state.rolled_back(previous):
            return previous
        previous = state.version_tags(previous).get(PREDECESSOR_TAG)
    return None


def rollback_refusal(state: AliasState) -> str | None:
    """Why the model cannot be rolled back, in one line, or ``None`` when it can."""
    if state.version(PREVIOUS_CHAMPION) is not None:
        return None
    current = state.version(CHAMPION)
    if current is None:
        return f"Nothing to roll back: {state.model_name} has no champion yet."
    return (
        f"Nothing to roll back: {state.model_name} version {current} is the champion and "
        f"there is no earlier champion to go back to (no '{PREVIOUS_CHAMPION}' alias)."
    )


def _rollback(state: AliasState) -> tuple[AliasPlan, dict[str, Any]]:
    """champion := previous-champion; the rolled-back version loses every serving alias.

    ``previous-champion`` moves one step further back along the promotion chain (or is
    removed when there is none), so a second rollback goes back again.
    """
    refusal = rollback_refusal(state)
    if refusal:
        raise NothingToRollBackError(refusal)
    previous, current = str(state.version(PREVIOUS_CHAMPION)), state.version(CHAMPION)
    tags, deleted = {}, []
    if current is not None and current != previous:
        tags[current] = {ROLLED_BACK_TAG: "true"}
        if state.version(CHALLENGER) == current:
            deleted.append(CHALLENGER)
    tagged = AliasPlan(state.model_name, tag_versions=tags).applied_to(state)
    before = _predecessor(tagged, previous)
    aliases = {CHAMPION: previous} | ({PREVIOUS_CHAMPION: before} if before else {})
    if before is None:
        deleted.append(PREVIOUS_CHAMPION)
    rolled_back = sorted({*state.rolled_back_versions(), *tags}, key=int)
    plan = AliasPlan(
        state.model_name,
        aliases,
        tuple(deleted),
        tags,
        {ROLLED_BACK_VERSIONS_TAG: ",".join(rolled_back)} if tags else {},
    )
    why = f"rollback from version {current}"
    return plan, _event("rollback", state.model_name, previous, current, why)


def plan_deployment(
    decision: dict[str, Any], aliases: AliasState, action: str
) -> tuple[AliasPlan, AliasState, dict[str, Any]]:
    """The alias changes the decision (or a rollback request) calls for, the aliases they
    leave, and the deployment event."""
    if action not in ACTIONS:
        raise ValueError(f"deployment.action '{action}' is not one of {ACTIONS}")
    plan, event = _promote(decision, aliases) if action == "promote" else _rollback(aliases)
    after = plan.applied_to(aliases)
    if plan.set_aliases or plan.delete_aliases:
        before, now = aliases.version(CHAMPION), after.version(CHAMPION)
        logger.info("%s: champion %s -> %s", aliases.model_name, before, now)
    return plan, after, event


def deployment_record(event: dict[str, Any], run_lineage: dict[str, str]) -> pd.DataFrame:
    """One row of the ``deployments`` table, with when, by which commit and run."""
    tags = run_lineage
    row = {
        **event,
        "deployed_at_utc": pd.Timestamp(datetime.now(UTC)),
        "git_commit": tags["git_commit"],
        "kedro_run_id": tags["kedro_run_id"],
        "environment": tags["kedro_env"],
    }
    return pd.DataFrame([row]).astype({"model_version": "string", "previous_version": "string"})


def select_scoring_input(scoring_input: Any, test_set: Any, fallback_to_test_set: bool) -> Any:
    """The ``scoring_input`` table when it exists, else (by default) the test set."""
    if scoring_input is not None:
        return scoring_input
    if not fallback_to_test_set:
        raise ValueError(
            "No scoring_input table and deployment.batch_scoring.fallback_to_test_set is false"
        )
    logger.info("No scoring_input table: scoring the test set")
    return test_set


def _missing_lookups(columns: list[str], champion: RegisteredModel | None) -> dict[str, list]:
    """The champion's feature lookups (its ``feature_spec`` tag) for columns not in the batch."""
    spec = json.loads((champion.tags if champion else {}).get("feature_spec") or "{}")
    wanted = {
        t: [c for c in cols if c not in columns] for t, cols in spec.get("lookups", {}).items()
    }
    return {t: cols for t, cols in wanted.items() if cols}


def with_looked_up_features(batch: Any, champion: RegisteredModel, feature_store: Any) -> Any:
    """The batch with the columns it lacks looked up by ``page_id`` in the feature tables:
    each key's latest values, as the champion's feature specification names them (so a
    batch of keys alone can be scored, like Databricks' ``fe.score_batch``). A key with no
    features stops the run naming it; a batch with every column is returned as it is."""
    from pyspark.sql import functions as F

    lookups = _missing_lookups(batch.columns, champion)
    if not lookups:
        return batch
    found = feature_store.latest_features(lookups)
    if isinstance(found, pd.DataFrame):  # the local store: typed by the table definitions
        kinds = {c: k for t in FEATURE_TABLES for c, k in t.features.items()}
        schema = ", ".join(
            [f"{KEY_COLUMN} string", *(f"{c} {kinds[c]}" for c in found.columns[1:])]
        )
        rows = found.astype(object).where(found.notna(), None)
        found = batch.sparkSession.createDataFrame(rows, schema)
    unknown = batch.select(KEY_COLUMN).join(found.select(KEY_COLUMN), KEY_COLUMN, "left_anti")
    first = [r[0] for r in unknown.limit(5).collect()]
    if first:
        raise UnknownKeysError(
            f"scoring batch: page_id {', '.join(map(repr, first))} has no row in the feature "
            f"tables {sorted(lookups)}; run feature_engineering or send the attributes"
        )
    logger.info("Batch scoring: %s looked up by page_id", lookups)
    return batch.join(found, KEY_COLUMN, "left").select(
        batch["*"], *[F.col(c) for cols in lookups.values() for c in cols]
    )


PREDICTION_SCHEMA = "page_id string, probability double, label int, model_version string"


def score_batch(
    batch: Any, champion: RegisteredModel | None, event: dict[str, Any], feature_store: Any
) -> Any:
    """Scores on Spark with the champion the deployment ``event`` left serving, in a pandas
    UDF (``mapInPandas``) where the data is; nothing to score without a champion. Columns
    the batch lacks are looked up by key (``with_looked_up_features``).

    The champion's ``BatchScorer`` travels to the executors (its pyfunc would make each
    Python worker import MLflow); each Arrow batch is scored as the pyfunc's ``predict``
    scores it.
    """
    from pyspark.sql import functions as F

    expected = serving_version(event)
    if champion is None or expected is None:
        logger.info("No champion yet: no batch predictions")
        return batch.sparkSession.createDataFrame([], PREDICTION_SCHEMA + ", scored_at timestamp")
    if champion.version != expected:
        raise ChampionMovedError(
            f"The champion alias of {champion.name} points at version {champion.version}, "
            f"but this deployment left version {expected} serving: another run moved it. "
            "Re-run the deployment pipeline."
        )
    batch = with_looked_up_features(batch, champion, feature_store)
    scorer = BatchScorer.of(champion.python_model)  # what its predict computes, sans MLflow
    columns = [KEY_COLUMN, *FEATURE_COLUMNS, *looked_up_columns(scorer.features)]

    def predict(frames):
        for frame in frames:
            out = scorer.predict(frame)
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


def serving_endpoint_spec(
    aliases: AliasState, endpoint: dict[str, Any], challenger_share: float
) -> dict[str, Any]:
    """What the model-serving endpoint should serve after this deployment (champion, and
    challenger with its share of the traffic); the ``serving_endpoint`` dataset applies it."""
    table = endpoint.get("inference_table") if endpoint["ai_gateway_inference_table"] else None
    return {
        "name": endpoint["name"],
        "model_name": aliases.model_name,
        "champion_version": aliases.version(CHAMPION),
        "challenger_version": aliases.version(CHALLENGER),
        "challenger_share": float(challenger_share),
        "workload_size": endpoint["workload_size"],
        "scale_to_zero": bool(endpoint["scale_to_zero"]),
        "inference_table": list(table) if table else None,
    }


def feature_serving_spec(event: dict[str, Any], serving: dict[str, Any]) -> dict[str, Any]:
    """What the Feature Serving endpoint should serve after this deployment: a feature spec
    over the feature tables' lookups; the ``feature_serving_endpoint`` dataset applies it."""
    lookups = {serving["tables"][name]: list(cols) for name, cols in serving["features"].items()}
    return {
        "name": serving["name"],
        "feature_spec": serving["feature_spec"],
        "lookups": lookups,
        "workload_size": serving["workload_size"],
        "scale_to_zero": bool(serving["scale_to_zero"]),
        "deployment_id": event["deployment_id"],
    }
