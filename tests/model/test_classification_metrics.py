"""Metrics against scikit-learn, the majority baseline, the paired bootstrap."""

import numpy as np
import pytest
from sklearn import metrics as skm

from marvel_mlops.model.classification_metrics import (
    METRIC_FUNCTIONS,
    bootstrap_difference,
    classification_metrics,
    majority_baseline,
)


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.75).astype(int)
    p = np.clip(0.75 + (y - 0.75) * 0.3 + rng.normal(0, 0.15, 2000), 0.01, 0.99)
    return y, p


def test_metrics_match_scikit_learn(scores):
    y, p = scores
    m = classification_metrics(y, p, 0.6)
    predicted = (p >= 0.6).astype(int)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert m["f1"] == pytest.approx(skm.f1_score(y, predicted, pos_label=0))
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(1 - y, 1 - p))
    assert m["confusion_true_dead_pred_dead"] == int(((y == 0) & (predicted == 0)).sum())
    assert m["rows"] == 2000


def test_majority_baseline_answers_alive_for_everyone(scores):
    y, _ = scores
    base = majority_baseline(y, 0.75)
    assert base["accuracy"] == pytest.approx(y.mean())
    assert base["roc_auc"] == 0.5 and base["recall"] == 0.0 and base["f1"] == 0.0


def test_bootstrap_is_zero_for_identical_models_and_positive_for_a_better_one(scores):
    y, p = scores
    same = bootstrap_difference(y, p, p, METRIC_FUNCTIONS["roc_auc"], 100, 0.95, 1)
    assert same["estimate"] == same["ci_low"] == same["ci_high"] == 0.0
    worse = np.clip(p + np.random.default_rng(1).normal(0, 0.3, len(p)), 0, 1)
    better = bootstrap_difference(y, p, worse, METRIC_FUNCTIONS["roc_auc"], 200, 0.95, 1)
    assert 0 < better["ci_low"] <= better["estimate"] <= better["ci_high"]
