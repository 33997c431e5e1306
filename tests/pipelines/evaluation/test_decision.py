"""The promotion decision rule."""

import pytest

from marvel_mlops.pipelines.evaluation.nodes import decide_promotion

PARAMS = {
    "mode": "enabled",
    "primary_metric": "roc_auc",
    "min_improvement": 0.001,
    "require_significance": False,
    "guard_metrics": {"log_loss": 0.005},
    "floors": {"roc_auc": 0.7},
    "baseline_margins": {"roc_auc": 0.05, "log_loss": 0.0},
}
BASELINE = {"roc_auc": 0.5, "log_loss": 0.56}


def metrics(challenger, champion=None, ci_low=0.0):
    chal = {"version": "2", **challenger}
    champ = None if champion is None else {"version": "1", **champion}
    difference = None if champion is None else {"ci_low": ci_low}
    return {"challenger": chal, "champion": champ, "baseline": BASELINE, "difference": difference}


def test_empty_registry_judges_against_floors_and_baseline():
    good = decide_promotion(metrics({"roc_auc": 0.78, "log_loss": 0.46}), PARAMS)
    assert good["promote"] and good["champion_version"] is None
    weak = decide_promotion(metrics({"roc_auc": 0.69, "log_loss": 0.46}), PARAMS)
    assert not weak["promote"] and "floor" in weak["reasons"][0]
    worse_than_prior = decide_promotion(metrics({"roc_auc": 0.78, "log_loss": 0.6}), PARAMS)
    assert not worse_than_prior["promote"]


def test_better_challenger_promotes_and_worse_or_equal_does_not():
    champion = {"roc_auc": 0.77, "log_loss": 0.46}
    assert decide_promotion(metrics({"roc_auc": 0.78, "log_loss": 0.46}, champion), PARAMS)[
        "promote"
    ]
    assert not decide_promotion(metrics({"roc_auc": 0.76, "log_loss": 0.46}, champion), PARAMS)[
        "promote"
    ]
    tie = decide_promotion(metrics(dict(champion), champion), PARAMS)
    assert not tie["promote"] and any("ties never promote" in r for r in tie["reasons"])


def test_a_guard_metric_regression_blocks_promotion():
    champion = {"roc_auc": 0.77, "log_loss": 0.46}
    decision = decide_promotion(metrics({"roc_auc": 0.79, "log_loss": 0.48}, champion), PARAMS)
    assert not decision["promote"] and "log_loss" in decision["reasons"][0]


def test_significance_requirement_uses_the_bootstrap_interval():
    champion = {"roc_auc": 0.77, "log_loss": 0.46}
    strict = {**PARAMS, "require_significance": True}
    unsure = metrics({"roc_auc": 0.78, "log_loss": 0.46}, champion, ci_low=-0.001)
    sure = metrics({"roc_auc": 0.78, "log_loss": 0.46}, champion, ci_low=0.002)
    assert not decide_promotion(unsure, strict)["promote"]
    assert decide_promotion(sure, strict)["promote"]


def test_modes():
    bad = metrics({"roc_auc": 0.6, "log_loss": 0.7})
    dry = decide_promotion(bad, {**PARAMS, "mode": "dry_run"})
    assert dry["promote"] and not dry["would_promote"] and len(dry["reasons"]) >= 1
    off = decide_promotion(bad, {**PARAMS, "mode": "disabled"})
    assert off["promote"] and off["checks"] == []
    with pytest.raises(ValueError, match="mode 'yes'"):
        decide_promotion(bad, {**PARAMS, "mode": "yes"})


def test_same_version_as_champion_never_promotes():
    m = metrics({"roc_auc": 0.8, "log_loss": 0.4}, {"roc_auc": 0.7, "log_loss": 0.5})
    m["champion"]["version"] = "2"
    assert not decide_promotion(m, PARAMS)["promote"]
