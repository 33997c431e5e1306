"""The deployment pipeline's pure parts: alias plans from a registry snapshot, the events,
the endpoint spec, and a slice of the pipeline through SequentialRunner in memory."""

import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from marvel_mlops.adapters.registry import RegisteredModel
from marvel_mlops.pipelines.deployment import create_pipeline
from marvel_mlops.pipelines.deployment.nodes import (
    ChampionMovedError,
    NothingToRollBackError,
    plan_deployment,
    score_batch,
    serving_endpoint_spec,
)
from marvel_mlops.registry_changes import AliasPlan, AliasState

NAME = "m"
PROMOTE = {"promote": True, "challenger_version": "4", "reasons": ["better"]}
ENDPOINT = {
    "name": "marvel-dev",
    "workload_size": "Small",
    "scale_to_zero": True,
    "ai_gateway_inference_table": True,
    "inference_table": ["cat", "sch", "marvel_endpoint"],
}


def state(aliases: dict, chain: dict | None = None, rolled_back: tuple = ()) -> AliasState:
    """A registry snapshot: ``chain`` maps a version to the champion it replaced."""
    versions = set(aliases.values()) | set(chain or {}) | set(rolled_back)
    tags = {v: {} for v in versions}
    for version, previous in (chain or {}).items():
        tags[version]["previous_champion_version"] = previous
    for version in rolled_back:
        tags[version]["rolled_back"] = "true"
    return AliasState(NAME, dict(aliases), tags)


def test_first_promotion_sets_only_champion():
    plan, after, event = plan_deployment(PROMOTE, state({"challenger": "4"}), "promote")
    assert plan == AliasPlan(NAME, {"champion": "4"})
    assert after.aliases == {"challenger": "4", "champion": "4"}
    assert (event["action"], event["model_version"], event["previous_version"]) == (
        "promote",
        "4",
        None,
    )


def test_promotion_keeps_the_chain_and_a_rerun_is_the_same_event():
    before = state({"challenger": "4", "champion": "3", "previous-champion": "2"}, {"3": "2"})
    plan, after, event = plan_deployment(PROMOTE, before, "promote")
    assert plan.set_aliases == {"previous-champion": "3", "champion": "4"}
    assert plan.tag_versions == {"4": {"previous_champion_version": "3"}}
    again_plan, _, again = plan_deployment(PROMOTE, plan.applied_to(before), "promote")
    assert again_plan == AliasPlan(NAME) and again["deployment_id"] == event["deployment_id"]
    assert after.version("champion") == "4"


@pytest.mark.parametrize(
    ("decision", "rolled_back", "reason"),
    [
        ({**PROMOTE, "promote": False, "reasons": ["worse"]}, (), "worse"),
        (PROMOTE, ("4",), "version 4 was rolled back; train a new challenger"),
    ],
)
def test_a_refusal_changes_nothing_and_says_why(decision, rolled_back, reason):
    before = state({"challenger": "4", "champion": "3"}, rolled_back=rolled_back)
    plan, after, event = plan_deployment(decision, before, "promote")
    assert plan == AliasPlan(NAME) and after == before
    assert (event["action"], event["previous_version"], event["reason"]) == (
        "refuse",
        "3",
        reason,
    )


def test_rollback_skips_rolled_back_versions_and_clears_the_challenger():
    before = state(
        {"challenger": "5", "champion": "5", "previous-champion": "4"},
        {"5": "4", "4": "3", "3": "2"},
        rolled_back=("3",),
    )
    plan, after, event = plan_deployment({}, before, "rollback")
    assert after.aliases == {"champion": "4", "previous-champion": "2"}
    assert plan.tag_versions == {"5": {"rolled_back": "true"}}
    assert set(plan.delete_aliases) == {"challenger"}
    assert (event["model_version"], event["previous_version"]) == ("4", "5")


def test_rollback_to_the_first_champion_removes_previous_champion():
    plan, after, _ = plan_deployment(
        {}, state({"champion": "2", "previous-champion": "1"}, {"2": "1"}), "rollback"
    )
    assert after.aliases == {"champion": "1"} and "previous-champion" in plan.delete_aliases


@pytest.mark.parametrize(
    ("aliases", "message"),
    [({}, "m has no champion yet"), ({"champion": "1"}, "no earlier champion to go back to")],
)
def test_nothing_to_roll_back_is_a_plain_error(aliases, message):
    with pytest.raises(NothingToRollBackError, match=message):
        plan_deployment({}, state(aliases), "rollback")


def test_an_unknown_action_names_the_parameter():
    with pytest.raises(ValueError, match="deployment.action 'retire' is not one of"):
        plan_deployment(PROMOTE, state({}), "retire")


def test_batch_scoring_refuses_a_champion_other_than_the_deployed_one():
    _, _, event = plan_deployment(PROMOTE, state({"challenger": "4", "champion": "3"}), "promote")
    moved = RegisteredModel(NAME, "7", "champion", None, pyfunc=None)
    with pytest.raises(ChampionMovedError, match="points at version 7.*left version 4"):
        score_batch(object(), moved, event, None)


def test_endpoint_spec_serves_champion_and_challenger_share():
    spec = serving_endpoint_spec(state({"champion": "3", "challenger": "4"}), ENDPOINT, 0.2)
    assert spec == {
        "name": "marvel-dev",
        "model_name": NAME,
        "champion_version": "3",
        "challenger_version": "4",
        "challenger_share": 0.2,
        "workload_size": "Small",
        "scale_to_zero": True,
        "inference_table": ["cat", "sch", "marvel_endpoint"],
    }
    without_table = serving_endpoint_spec(
        state({"champion": "3"}), {**ENDPOINT, "ai_gateway_inference_table": False}, 0.0
    )
    assert without_table["inference_table"] is None


def test_deployment_slice_records_the_event_and_the_endpoint_it_asks_for():
    """apply_deployment -> record_deployment, sync_serving_endpoint on an in-memory catalog."""
    lineage = {"git_commit": "a" * 40, "kedro_run_id": "run-1", "kedro_env": "local"}
    catalog = DataCatalog(
        {
            "promotion_decision": MemoryDataset(PROMOTE),
            "model_aliases": MemoryDataset(state({"challenger": "4", "champion": "3"})),
            "run_lineage": MemoryDataset(lineage),
            "params:deployment.action": MemoryDataset("promote"),
            "params:deployment.endpoint": MemoryDataset(ENDPOINT),
            "params:deployment.serving.ab_challenger_share": MemoryDataset(0.0),
            "model_alias_changes": MemoryDataset(),
            "deployments": MemoryDataset(),
            "serving_endpoint": MemoryDataset(),
        }
    )
    nodes = [
        f"deployment.{n}"
        for n in ("apply_deployment", "record_deployment", "sync_serving_endpoint")
    ]
    SequentialRunner().run(create_pipeline().only_nodes(*nodes), catalog)
    record = catalog.load("deployments").iloc[0]
    assert (record["action"], record["model_version"], record["previous_version"]) == (
        "promote",
        "4",
        "3",
    )
    assert (record["git_commit"], record["kedro_run_id"]) == ("a" * 40, "run-1")
    assert catalog.load("model_alias_changes").set_aliases["champion"] == "4"
    assert catalog.load("serving_endpoint")["champion_version"] == "4"


def test_a_rolled_back_version_that_lost_every_alias_is_still_refused():
    """After a rollback the version has no alias to be found by: the model's tag keeps it."""
    before = state({"champion": "3", "previous-champion": "2"}, {"3": "2"})
    plan, after, _ = plan_deployment({}, before, "rollback")
    assert plan.tag_model == {"rolled_back_versions": "3"}
    stale = {**PROMOTE, "challenger_version": "3"}  # the old decision, re-applied
    again, _, event = plan_deployment(
        stale, AliasState(NAME, after.aliases, {}, after.model_tags), "promote"
    )
    assert again == AliasPlan(NAME) and event["action"] == "refuse"
    assert "version 3 was rolled back" in event["reason"]


def test_batch_scoring_on_spark_scores_as_the_registered_pyfunc(spark, mlflow_registry):
    # The workers get the champion's BatchScorer, not its pyfunc: same numbers required.
    from marvel_mlops.adapters import registry
    from marvel_mlops.data.schema import FEATURE_COLUMNS, KEY_COLUMN
    from tests.factories import clean_characters, register, train_model

    rows = clean_characters(800, 5)
    version = register(train_model(rows.iloc[:600]), NAME, rows)
    champion = registry.load_version(NAME, version, "champion")
    batch = rows.iloc[600:][[KEY_COLUMN, *FEATURE_COLUMNS]].astype(object)
    batch = batch.where(batch.notna(), None)
    decision = {**PROMOTE, "challenger_version": version}
    _, _, event = plan_deployment(decision, state({"challenger": version}), "promote")

    scored = score_batch(spark.createDataFrame(batch), champion, event, None).toPandas()
    expected = champion.pyfunc.predict(batch.drop(columns=KEY_COLUMN))
    scored = scored.set_index(KEY_COLUMN).loc[batch[KEY_COLUMN]]
    np.testing.assert_allclose(scored["probability"], expected["probability"], rtol=0, atol=1e-12)
    assert scored["label"].tolist() == expected["label"].tolist()
    assert set(scored["model_version"]) == {version}
