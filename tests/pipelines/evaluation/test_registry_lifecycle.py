"""Challenger vs champion with real models in a real SQLite registry."""

import numpy as np
import pytest

from marvel_mlops.adapters import registry
from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.pipelines.evaluation.nodes import (
    decide_promotion,
    evaluate_models,
    score_candidates,
)
from tests.factories import register, train_model
from tests.pipelines.evaluation.test_decision import PARAMS as RULE

# The unit tests' rule, loosened for small models trained on 4,500 rows.
PARAMS = {
    **RULE,
    "guard_metrics": {"log_loss": 0.01},
    "floors": {"roc_auc": 0.6},
    "bootstrap": {"n_resamples": 50, "confidence": 0.95, "seed": 1},
}


def decide(test, train, challenger, champion):
    scored = score_candidates(test, challenger, champion, {"version": challenger.version}, None)
    metrics = evaluate_models(
        scored, train, challenger, champion, PARAMS["primary_metric"], PARAMS["bootstrap"]
    )
    return decide_promotion(metrics, PARAMS), metrics


def test_reloaded_model_gives_the_in_memory_probabilities(mlflow_registry, small_characters):
    train, test = small_characters
    model = train_model(train)
    version = register(model, "m", train)
    loaded = registry.load_version("m", version)
    out = loaded.pyfunc.predict(test[list(INPUT_COLUMNS)])
    np.testing.assert_allclose(out["probability"], model.predict_proba(test), rtol=0, atol=1e-12)
    assert set(out["model_version"]) == {version}
    assert list(out.columns) == ["probability", "label", "model_version"]
    np.testing.assert_allclose(
        loaded.python_model.predict_records(test[list(INPUT_COLUMNS)].to_dict("records")),
        out["probability"],
        atol=1e-12,
    )


def test_empty_registry_then_worse_never_promoted_then_better_promoted(
    mlflow_registry, small_characters
):
    train, test = small_characters
    assert registry.load_alias("m", registry.CHAMPION) is None
    good = registry.load_version("m", register(train_model(train), "m", train))
    first, _ = decide(test, train, good, None)
    assert first["promote"] and first["champion_version"] is None
    registry.set_alias("m", registry.CHAMPION, good.version)

    worse = registry.load_version("m", register(train_model(train, label_noise=0.9), "m", train))
    decision, metrics = decide(test, train, worse, registry.load_alias("m", "champion"))
    assert metrics["challenger"]["roc_auc"] < metrics["champion"]["roc_auc"]
    assert not decision["promote"]

    better = registry.load_version(
        "m",
        register(
            train_model(
                train,
                model_params={
                    "n_estimators": 200,
                    "learning_rate": 0.05,
                    "num_leaves": 7,
                    "min_child_samples": 40,
                },
            ),
            "m",
            train,
        ),
    )
    weak_champion = worse
    decision, metrics = decide(test, train, better, weak_champion)
    assert metrics["difference"]["estimate"] > 0
    assert decision["promote"]


def test_same_data_and_seed_give_the_same_metrics(mlflow_registry, small_characters):
    train, test = small_characters
    runs = []
    for _ in range(2):
        model = registry.load_version("m", register(train_model(train, seed=7), "m", train))
        scored = score_candidates(test, model, None, {"version": model.version}, None)
        runs.append(
            evaluate_models(
                scored, train, model, None, PARAMS["primary_metric"], PARAMS["bootstrap"]
            )["challenger"]
        )
    for key in ("roc_auc", "pr_auc", "log_loss", "f1", "accuracy"):
        assert runs[0][key] == runs[1][key]


def test_missing_challenger_alias_is_a_clear_error(mlflow_registry):
    from kedro.io.core import DatasetError

    from marvel_mlops.datasets import RegisteredModelDataset

    with pytest.raises(DatasetError, match="no version with alias 'challenger'"):
        RegisteredModelDataset(model_name="nothing", alias="challenger").load()
    assert (
        RegisteredModelDataset(model_name="nothing", alias="champion", optional=True).load() is None
    )
