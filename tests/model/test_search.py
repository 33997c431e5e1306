"""The hyperparameter search: fits spread over worker processes change nothing but time."""

import numpy as np
import pytest

from marvel_mlops.data.generator import generate_characters
from marvel_mlops.data.schema import LABEL_VALUES, RAW_TO_CLEAN
from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.model.training import (
    _folds,
    build_pipeline,
    fit_pipeline,
    search_hyperparameters,
    search_workers,
)

FEATURES = {"min_category_count": 20, "top_teams": 5, "top_creators": 5}
SEARCH = {
    "budget": 3,
    "folds": 3,
    "fixed": {"subsample_freq": 1},
    "space": {"n_estimators": [20, 40], "num_leaves": [7, 15], "subsample": [0.7, 1.0]},
}


@pytest.fixture(scope="module")
def data():
    frame = generate_characters(3000, seed=3).rename(columns=RAW_TO_CLEAN)
    X = frame[list(INPUT_COLUMNS)].replace({"": None})
    return X, frame["alive"].str.lower().map(LABEL_VALUES).to_numpy()


def test_worker_processes_give_the_in_process_results(data):
    X, y = data
    reported = []
    here = search_hyperparameters(X, y, FEATURES, {**SEARCH, "workers": 1}, seed=42)
    spread = search_hyperparameters(
        X, y, FEATURES, {**SEARCH, "workers": 2}, 42, progress=lambda i, *_: reported.append(i)
    )
    assert spread[0] == here[0]
    columns = [c for c in here[1].columns if c != "seconds"]
    assert spread[1][columns].equals(here[1][columns])
    assert len(spread[1]) == SEARCH["budget"] and here[1]["cv_roc_auc"].nunique() > 1
    np.testing.assert_array_equal(spread[2], here[2])
    assert reported == [1, 2, 3]  # candidates reported in order, each once
    assert (spread[1]["seconds"] > 0).all()


def test_a_candidate_is_scored_as_its_whole_pipeline_would_be(data):
    # The search fits the features once per fold and reuses them across candidates: the
    # held-out probabilities must still be those of the full pipeline fitted on the fold.
    X, y = data
    best, _, oof = search_hyperparameters(X, y, FEATURES, {**SEARCH, "workers": 2}, seed=42)
    for fit_idx, val_idx in _folds(X, y, SEARCH["folds"], 42):
        pipeline = fit_pipeline(build_pipeline(FEATURES, best, 42), X.iloc[fit_idx], y[fit_idx])
        np.testing.assert_allclose(
            oof[val_idx], pipeline.predict_proba(X.iloc[val_idx])[:, 1], rtol=0, atol=1e-12
        )


def test_workers_setting():
    assert search_workers(8, tasks=3) == 3
    assert search_workers("auto", tasks=100) >= 1
    assert search_workers(None, tasks=1) == 1
    for bad in (0, -1, "many", 1.5, True):
        with pytest.raises(ValueError, match=r"training\.search\.workers"):
            search_workers(bad, tasks=10)


def test_looked_up_columns_and_the_feature_tables_folds_go_through_the_search(data):
    # With looked-up label aggregates the search uses the folds they were computed out of
    # (fold_ids) and the features step appends the looked-up columns.
    X, y = data
    rng = np.random.default_rng(1)
    X = X.assign(universe_alive_rate=0.6 * y + 0.4 * rng.random(len(y)))
    fold_ids = np.arange(len(y)) % 2
    features = {**FEATURES, "looked_up": ["universe_alive_rate"]}
    best, _, oof = search_hyperparameters(
        X, y, features, {**SEARCH, "workers": 2}, 42, fold_ids=fold_ids
    )
    for fold in (0, 1):
        fit, held_out = fold_ids != fold, fold_ids == fold
        pipeline = fit_pipeline(build_pipeline(features, best, 42), X[fit], y[fit])
        np.testing.assert_allclose(
            oof[held_out], pipeline.predict_proba(X[held_out])[:, 1], rtol=0, atol=1e-12
        )
    assert "universe_alive_rate" in pipeline.named_steps["features"].get_feature_names_out()
