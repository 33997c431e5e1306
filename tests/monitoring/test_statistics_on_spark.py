"""Monitoring statistics on real Spark: equal to SciPy / scikit-learn, planted drift found."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn import metrics as skm

from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.model.training import build_pipeline, fit_pipeline
from marvel_mlops.monitoring import profile as prof
from marvel_mlops.monitoring import sketch, traffic
from marvel_mlops.monitoring import statistics as st
from marvel_mlops.pipelines.monitoring import nodes
from tests.factories import FEATURES

PARAMS = {
    "granularity": "1 hour",
    "sketch": {"significant_digits": 3, "max_categories": 1000},
    "profile": {"top_k": 5},
    "drift": {"psi_bins": 10, "category_top_k": 20, "min_numeric_values": 100},
}
START = pd.Timestamp("2024-05-01 10:00", tz="UTC")


class Scorer:
    """A small real LightGBM pipeline; probabilities rounded to 3 decimals so the sketch
    (3 significant digits) keeps them exact and SciPy can be compared on raw values."""

    threshold = 0.6
    _pipeline = None

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if Scorer._pipeline is None:
            train = traffic.characters(6000, 3)
            pipeline = build_pipeline(FEATURES, {"n_estimators": 80, "num_leaves": 15}, seed=7)
            Scorer._pipeline = fit_pipeline(
                pipeline, train[list(INPUT_COLUMNS)], train["alive"].to_numpy()
            )
        return np.round(Scorer._pipeline.predict_proba(frame[list(INPUT_COLUMNS)])[:, 1], 3)


def window_frame(spark, windows: list[tuple[int, dict | None, bool]], rows: int) -> tuple:
    """Inference log and ground truth for (seed, drift, labelled) windows, one hour each."""
    logs, labels = [], []
    for i, (seed, drift, labelled) in enumerate(windows):
        frame = traffic.characters(rows, seed, drift)
        times = traffic.uniform_times(START + pd.Timedelta(hours=i), pd.Timedelta("1h"), rows, seed)
        logs.append(traffic.scored_rows(frame, Scorer(), "1", times))
        if labelled:
            labels.append(traffic.label_rows(frame, times))
    log = pd.concat(logs, ignore_index=True)
    truth = (
        pd.concat(labels, ignore_index=True)
        if labels
        else traffic.label_rows(
            log.head(0).assign(alive=0), pd.Series([], dtype="datetime64[ns, UTC]")
        )
    )
    frame, labelled = nodes.prepare_inference(
        spark.createDataFrame(traffic.inference_arrow(log)),
        spark.createDataFrame(traffic.ground_truth_arrow(truth)),
        PARAMS["granularity"],
    )
    return frame, labelled, log, truth


def run_windows(spark, windows, rows=20000, baseline_rows=40000):
    frame, labelled, log, truth = window_frame(spark, windows, rows)
    selected = nodes.select_windows(labelled, None, PARAMS["granularity"])
    base = traffic.characters(baseline_rows, 1)
    base = base.assign(probability=Scorer().predict_proba(base))
    base["label"] = (base["probability"] >= Scorer.threshold).astype("int32")
    baseline_sketch = nodes.sketch_baseline(
        spark.createDataFrame(base.assign(model_version="1")), None, PARAMS["sketch"]
    )
    window_sketch = nodes.sketch_windows(frame, selected, PARAMS["sketch"])
    drift = nodes.compute_drift(window_sketch, baseline_sketch, selected, PARAMS["drift"])
    performance = nodes.compute_performance(labelled, selected)
    profile = nodes.compute_profile(window_sketch, selected, PARAMS["profile"]["top_k"])
    return {
        "log": log,
        "truth": truth,
        "base": base,
        "drift": drift,
        "performance": performance,
        "profile": profile,
    }


@pytest.fixture(scope="module")
def planted(spark):
    """Two clean windows, then one with Gender shifted and one with the label relationship
    reversed; the last window has no labels yet."""
    gender = {"marginals": {"Gender": {"Female": 0.62, "Male": 0.33, "": 0.05}}}
    return run_windows(
        spark,
        [
            (11, None, True),
            (12, None, True),
            (13, gender, True),
            (14, {"concept_shift": 1.0}, True),
            (15, None, False),
        ],
    )


def baseline_rows(result, window: int) -> pd.DataFrame:
    drift = result["drift"]
    start = START + pd.Timedelta(hours=window)
    rows = drift[(drift["drift_type"] == "BASELINE") & (drift["window_start"] == start)]
    return rows.set_index("column_name")


def test_planted_marginal_shift_is_flagged_and_unshifted_features_are_not(planted):
    shifted = baseline_rows(planted, 2)
    assert shifted.loc["gender", "population_stability_index"] >= 0.25
    assert shifted.loc["gender", "js_distance"] >= 0.1
    features = [
        "universe",
        "identity",
        "marital_status",
        "teams",
        "origin",
        "creators",
        "height_m",
        "weight_kg",
    ]
    for window in (0, 1, 2):
        rows = baseline_rows(planted, window)
        assert (rows.loc[features, "population_stability_index"] < 0.1).all(), rows.loc[features]
        assert (rows.loc[features, "js_distance"] < 0.1).all()
        assert (rows.loc[["height_m", "weight_kg"], "wasserstein_normalised"] < 0.1).all()
    assert (baseline_rows(planted, 0).loc["gender", "population_stability_index"]) < 0.1


def test_changed_label_relationship_shows_as_a_performance_drop(planted):
    perf = planted["performance"].sort_values("window_start").reset_index(drop=True)
    clean = perf.loc[[0, 1], "roc_auc"].min()
    assert perf.loc[3, "roc_auc"] < clean - 0.1
    # Feature drift alone does not reveal it: the inputs of window 3 are unshifted.
    assert (baseline_rows(planted, 3).loc[["gender", "origin", "teams"], "js_distance"] < 0.1).all()


def test_window_without_labels_reports_no_performance(planted):
    last = planted["performance"].sort_values("window_start").iloc[-1]
    assert last["labelled_count"] == 0 and last["label_coverage"] == 0
    assert np.isnan(last[["roc_auc", "log_loss", "accuracy", "f1"]].astype(float)).all()


def test_spark_metrics_equal_scikit_learn_and_scipy(planted):
    log, truth = planted["log"], planted["truth"]
    log = log.assign(window=log["timestamp_utc"].dt.floor("h"))
    joined = log.merge(truth[["page_id", "alive"]], on="page_id")
    perf = planted["performance"].set_index("window_start")
    for start, rows in joined.groupby("window"):
        y, p, yhat = (
            rows["alive"].to_numpy(),
            rows["probability"].to_numpy(),
            rows["label"].to_numpy(),
        )
        got = perf.loc[start]
        assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
        assert got["log_loss"] == pytest.approx(skm.log_loss(y, p), rel=1e-9)
        assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, yhat), abs=1e-12)
        assert got["f1"] == pytest.approx(skm.f1_score(y, yhat, pos_label=0), abs=1e-12)
        assert got["f1_macro"] == pytest.approx(skm.f1_score(y, yhat, average="macro"), abs=1e-12)

    base = planted["base"]
    window = log[log["window"] == START + pd.Timedelta(hours=2)]
    drift = baseline_rows(planted, 2)
    for column in ("height_m", "probability"):  # values already at 3 significant digits
        a, b = base[column].dropna().to_numpy(), window[column].dropna().to_numpy()
        assert drift.loc[column, "ks_statistic"] == pytest.approx(
            stats.ks_2samp(a, b).statistic, abs=1e-12
        )
        w = stats.wasserstein_distance(a, b)
        assert drift.loc[column, "wasserstein_distance"] == pytest.approx(w, rel=1e-9)
        assert drift.loc[column, "wasserstein_normalised"] == pytest.approx(w / np.std(a), rel=1e-9)
    ref = base["identity"].fillna(st.NULL).value_counts()
    cur = window["identity"].fillna(st.NULL).value_counts()
    labels = sorted(set(ref.index) | set(cur.index))
    table = np.array([[ref.get(k, 0) for k in labels], [cur.get(k, 0) for k in labels]])
    expected_p = stats.chi2_contingency(table, correction=False).pvalue
    assert drift.loc["identity", "chi_squared_pvalue"] == pytest.approx(expected_p, rel=1e-9)
    assert drift.loc["identity", "js_distance"] == pytest.approx(
        jensenshannon(table[0], table[1], base=2), rel=1e-9
    )

    profile = planted["profile"]
    row = profile[
        (profile["window_start"] == START + pd.Timedelta(hours=2))
        & (profile["column_name"] == "height_m")
    ].iloc[0]
    values = window["height_m"].dropna().to_numpy()
    assert row["avg"] == pytest.approx(values.mean(), rel=1e-12)
    assert row["stddev"] == pytest.approx(values.std(), rel=1e-9)
    assert row["median"] == pytest.approx(np.quantile(values, 0.5, method="inverted_cdf"))
    assert row["num_nulls"] == window["height_m"].isna().sum()


def test_round_significant_bounds_distinct_values(spark):
    frame = spark.createDataFrame(
        pd.DataFrame({"x": [1.83, 123.456, 0.0012345, -45.67, 0.0, None]})
    )
    out = frame.select(sketch.round_significant(frame["x"], 3).alias("r")).toPandas()["r"]
    assert out.tolist()[:5] == [1.83, 123.0, 0.00123, -45.7, 0.0] and pd.isna(out.iloc[5])


def test_categorical_tail_keeps_distinct_count_exact(spark):
    values = [f"v{i % 50}" for i in range(1000)]
    frame = spark.createDataFrame(
        pd.DataFrame(
            {
                "c": values,
                "window_start": 1,
                "window_end": 2,
                "model_id": "1",
                "slice_value": "champion",
            }
        )
    )
    sk = sketch.value_sketch(frame, ["c"], [], 3, max_categories=10)
    counts = prof.column_counts(sk, numeric=False)
    assert len(counts.values) == 10 and counts.tail_values == 40 and counts.total == 1000
    assert prof.profile_metrics(counts, 5)["distinct_count"] == 50


def test_malformed_alert_rule_is_named():
    from marvel_mlops.monitoring.alerts import validate_rules

    with pytest.raises(ValueError, match=r"rules\[bad\].op"):
        validate_rules(
            [{"name": "bad", "table": "drift", "metric": "js_distance", "op": "=>", "threshold": 1}]
        )
