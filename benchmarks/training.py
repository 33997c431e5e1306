"""Our model vs the course recipe, trained and scored on the same split.

Reads `train_set` and `test_set` from the local lakehouse (run `bash project.sh run`, or
`kedro run --pipelines data_processing`, first). Trains:

* the course recipe: the course's cleaning and features (Unknown for blanks, universes
  under 50 rows → Other, Widow → Widowed, gender outside Male/Female → Other, has-a-team,
  Magic and Mutant flags, normalised Origin, height, weight) and LightGBM with
  learning_rate 0.01, 1000 trees, max depth 6, no class weights, threshold 0.5;
* ours: the training pipeline's code and parameters (conf/base/parameters_training.yml):
  features inside the model, bounded CV search, threshold from out-of-fold predictions.

Prints test ROC AUC, PR AUC and F1 (both for the minority class "dead"), accuracy,
balanced accuracy and log loss for both, and the majority-class baseline.

With ``--feature-tables`` (after ``kedro run --pipelines feature_engineering``) it also
trains ours with the feature tables' group features, looked up point in time through
Feast (each row as of its event_timestamp), and ours without them, both on the same
split and the feature tables' folds (the folds the label aggregates are out of), and
scores the test rows once more with the group-features model and the group features
missing: what a character the online store does not know would get.

    uv run python benchmarks/training.py [--budget N] [--feature-tables]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from deltalake import DeltaTable
from lightgbm import LGBMClassifier

from marvel_mlops.model.classification_metrics import (
    classification_metrics,
    majority_baseline,
    roc_auc,
)
from marvel_mlops.model.features import (
    INPUT_COLUMNS,
    is_magic,
    is_mutant,
    normalise_gender,
    normalise_marital,
    normalise_plain,
    origin_group,
)
from marvel_mlops.model.training import build_pipeline, choose_threshold, fit_pipeline
from marvel_mlops.model.training import search_hyperparameters as search

ROOT = Path(__file__).resolve().parents[1]
REPORTED = ("roc_auc", "pr_auc", "f1", "accuracy", "balanced_accuracy", "log_loss")


def course_features(frame: pd.DataFrame, universes: set[str]) -> pd.DataFrame:
    """The course's DataProcessor: cleaned categoricals, flags and raw numbers."""
    universe = frame["universe"].map(normalise_plain)
    out = pd.DataFrame(
        {
            "Universe": universe.where(universe.isin(universes), "Other"),
            "Identity": frame["identity"].map(normalise_plain),
            "Gender": frame["gender"].map(normalise_gender),
            "Marital_Status": frame["marital_status"].map(normalise_marital),
            "Teams": frame["teams"].notna().astype(int),
            "Origin": frame["origin"].map(origin_group),
            "Magic": frame["origin"].map(is_magic).astype(int),
            "Mutant": frame["origin"].map(is_mutant).astype(int),
            "Height": pd.to_numeric(frame["height_m"], errors="coerce"),
            "Weight": pd.to_numeric(frame["weight_kg"], errors="coerce"),
        }
    )
    for column in ("Universe", "Identity", "Gender", "Marital_Status", "Origin"):
        out[column] = out[column].astype("category")
    return out


def course_recipe(train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Fits the course's LightGBM; returns test probabilities and the threshold (0.5)."""
    counts = train["universe"].map(normalise_plain).value_counts()
    universes = set(counts[counts >= 50].index)
    X_train, X_test = course_features(train, universes), course_features(test, universes)
    for column in X_test.select_dtypes("category"):
        X_test[column] = X_test[column].cat.set_categories(X_train[column].cat.categories)
    model = LGBMClassifier(
        learning_rate=0.01, n_estimators=1000, max_depth=6, random_state=42, verbose=-1
    )
    model.fit(X_train, train["alive"])
    return model.predict_proba(X_test)[:, 1], 0.5


def ours(train: pd.DataFrame, test: pd.DataFrame, budget: int | None) -> tuple[np.ndarray, float]:
    """The training pipeline's procedure with the project's parameters."""
    params = yaml.safe_load((ROOT / "conf/base/parameters_training.yml").read_text())["training"]
    if budget:
        params["search"]["budget"] = budget
    X, y = train[list(INPUT_COLUMNS)], train["alive"].to_numpy()
    best, _, oof = search(X, y, params["features"], params["search"], params["seed"])
    threshold, _ = choose_threshold(y, oof, params["threshold_objective"])
    pipeline = build_pipeline(params["features"], best, params["seed"])
    fit_pipeline(pipeline, X, y)
    return pipeline.predict_proba(test[list(INPUT_COLUMNS)])[:, 1], threshold


def feature_table_sets(train: pd.DataFrame, test: pd.DataFrame) -> tuple:
    """Train and test rows with the group features as of each row's timestamp (Feast)."""
    import tempfile

    from marvel_mlops.adapters.feast_store import FeastStore, pinned_tables
    from marvel_mlops.features_store.definitions import (
        CHARACTER_ATTRIBUTES,
        FEATURE_TABLES,
        GROUP_FEATURES,
    )

    lakehouse = ROOT / "data/lakehouse"
    store = FeastStore(tempfile.mkdtemp(prefix="feast-bench-"))
    store.register(pinned_tables({t.name: str(lakehouse / t.name) for t in FEATURE_TABLES}))
    labels = DeltaTable(str(lakehouse / "character_labels")).to_pandas()
    arrivals = DeltaTable(str(lakehouse / CHARACTER_ATTRIBUTES.name)).to_pandas(
        columns=["page_id", "event_timestamp"]
    )
    lookup = {GROUP_FEATURES.name: list(GROUP_FEATURES.features)}
    spine_train = train.merge(labels[["page_id", "event_timestamp", "fold"]], on="page_id")
    spine_test = test.merge(arrivals, on="page_id")
    return (
        store.historical_features(spine_train, lookup),
        store.historical_features(spine_test, lookup),
        list(GROUP_FEATURES.features),
    )


def ours_with(
    train: pd.DataFrame,
    test: pd.DataFrame,
    budget: int | None,
    looked_up: list[str],
    fitted: dict | None = None,
) -> tuple[np.ndarray, float]:
    """Ours on the feature tables' folds, with ``looked_up`` columns appended (or none);
    the fitted pipeline goes to ``fitted`` when given."""
    params = yaml.safe_load((ROOT / "conf/base/parameters_training.yml").read_text())["training"]
    if budget:
        params["search"]["budget"] = budget
    features = {**params["features"], "looked_up": looked_up}
    columns = [*INPUT_COLUMNS, *looked_up]
    X, y, folds = train[columns], train["alive"].to_numpy(), train["fold"].to_numpy()
    best, _, oof = search(X, y, features, params["search"], params["seed"], fold_ids=folds)
    threshold, _ = choose_threshold(y, oof, params["threshold_objective"])
    pipeline = build_pipeline(features, best, params["seed"])
    fit_pipeline(pipeline, X, y)
    if fitted is not None:
        fitted.update(pipeline=pipeline, threshold=threshold, columns=columns)
    return pipeline.predict_proba(test[columns])[:, 1], threshold


def as_new_characters(fitted: dict, test: pd.DataFrame, looked_up: list[str]) -> tuple:
    """The group-features model on the test rows without their group features: what it
    gives a character the online store does not know (the columns arrive missing)."""
    blank = test.assign(**{c: np.nan for c in looked_up})[fitted["columns"]]
    return fitted["pipeline"].predict_proba(blank)[:, 1], fitted["threshold"]


def paired_bootstrap(
    y: np.ndarray, with_: np.ndarray, without: np.ndarray, n: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95 % interval of ROC AUC(with_) - ROC AUC(without) over test rows resampled together."""
    rng, gains = np.random.default_rng(seed), []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        gains.append(roc_auc(y[idx], with_[idx]) - roc_auc(y[idx], without[idx]))
    low, high = np.percentile(gains, [2.5, 97.5])
    return float(low), float(high)


def main() -> None:
    """Trains both, prints one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=None, help="override the search budget")
    parser.add_argument(
        "--feature-tables", action="store_true", help="also with and without group features"
    )
    args = parser.parse_args()
    lakehouse = ROOT / "data/lakehouse"
    train = DeltaTable(str(lakehouse / "train_set")).to_pandas()
    test = DeltaTable(str(lakehouse / "test_set")).to_pandas()
    y = test["alive"].to_numpy()
    rows = {
        "majority class (always alive)": {
            **majority_baseline(y, train["alive"].mean()),
            "seconds": 0.0,
        }
    }
    contenders = [
        ("course recipe", lambda: course_recipe(train, test)),
        ("ours", lambda: ours(train, test, args.budget)),
    ]
    if args.feature_tables:
        pit_train, pit_test, group = feature_table_sets(train, test)
        test = pit_test  # same rows, same order, with the group features
        fitted: dict = {}
        contenders += [
            ("ours, table folds", lambda: ours_with(pit_train, pit_test, args.budget, [])),
            (
                "ours + group features",
                lambda: ours_with(pit_train, pit_test, args.budget, group, fitted),
            ),
            (
                "ours + group features, unknown keys",
                lambda: as_new_characters(fitted, pit_test, group),
            ),
        ]
    probabilities = {}
    for name, fit in contenders:
        start = time.perf_counter()
        probability, threshold = fit()
        probabilities[name] = probability
        rows[name] = {
            **classification_metrics(y, probability, threshold),
            "seconds": time.perf_counter() - start,
        }
    table = pd.DataFrame(rows).T[[*REPORTED, "threshold", "seconds"]]
    print(f"train rows {len(train):,}, test rows {len(test):,}, test share alive {y.mean():.3f}")
    print("PR AUC, F1: class 'dead' (the minority); threshold on P(alive)")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    gain = rows["ours"]["roc_auc"] - rows["course recipe"]["roc_auc"]
    print(f"ROC AUC gain over the course recipe: {gain:+.4f}")
    result = {"gain_over_course_roc_auc": gain}
    if args.feature_tables:
        with_group = rows["ours + group features"]["roc_auc"]
        result["group_features_roc_auc_gain"] = with_group - rows["ours, table folds"]["roc_auc"]
        print(f"ROC AUC gain from the group features: {result['group_features_roc_auc_gain']:+.4f}")
        low, high = paired_bootstrap(
            y, probabilities["ours + group features"], probabilities["ours, table folds"]
        )
        result["group_features_roc_auc_gain_ci95"] = [low, high]
        print(
            f"  95% paired bootstrap interval of that gain (1000 resamples): [{low:+.4f}, {high:+.4f}]"
        )
        unknown = rows["ours + group features, unknown keys"]["roc_auc"]
        result["group_features_unknown_key_roc_auc_gain"] = (
            unknown - rows["ours, table folds"]["roc_auc"]
        )
        print(
            "ROC AUC gain for characters the store does not know (group features missing): "
            f"{result['group_features_unknown_key_roc_auc_gain']:+.4f}"
        )
    result.update({name: {k: float(row[k]) for k in REPORTED} for name, row in rows.items()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
