"""The seeded generator: realistic shape, determinism, signal and drift options."""

import pandas as pd
import pytest

from marvel_mlops.data.generator import DriftSpec, generate_characters, generate_raw
from marvel_mlops.data.schema import RAW_COLUMNS


@pytest.fixture(scope="module")
def characters() -> pd.DataFrame:
    return generate_characters(n_rows=30_000, seed=3)


def test_same_seed_same_rows_and_other_seed_other_rows():
    first, again = generate_raw(2_000, seed=11), generate_raw(2_000, seed=11)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(generate_raw(2_000, seed=12))


def test_raw_file_has_the_kaggle_shape(tmp_path):
    from marvel_mlops.data.generator import write_raw_csv

    path = write_raw_csv(generate_raw(500, seed=1), tmp_path / "raw.csv")
    header = path.read_text().splitlines()[0].split(",")
    assert header[0] == ""  # the unnamed pandas index
    assert tuple(header[1:]) == RAW_COLUMNS


def test_marginals_follow_the_real_file(characters):
    assert characters["Alive"].eq("Alive").mean() == pytest.approx(0.754, abs=0.015)
    assert characters["Height (m)"].isna().mean() == pytest.approx(0.9, abs=0.02)
    universes = characters["Universe"].value_counts()
    assert universes.index[0] == "Earth-616" and universes.iloc[0] / len(characters) > 0.6
    assert (universes < 50).sum() > 100  # a long tail of rare universes
    assert characters["Teams"].str.contains(";").any()
    assert characters["Identity"].eq("").mean() > 0.1  # blanks are common
    assert {"Widow", "Widowed"} <= set(characters["Marital Status"])


def test_messiness_duplicates_and_malformed_rows():
    raw = generate_raw(20_000, seed=5)
    assert raw["PageID"].duplicated().sum() > 20
    assert raw["Alive"].isin(["", "Unknown"]).sum() > 0
    assert (raw["Height (m)"].astype(str) == "tall").sum() > 0


def test_label_carries_a_learnable_but_imperfect_signal(characters):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    X = pd.get_dummies(
        characters[["Universe", "Identity", "Gender", "Origin"]].apply(
            lambda c: c.where(c.map(c.value_counts()) > 100, "rare")
        )
    )
    X["teams"] = characters["Teams"].str.count(";") + characters["Teams"].ne("")
    y = characters["Alive"].eq("Alive")
    half = len(X) // 2
    model = LogisticRegression(max_iter=500).fit(X[:half], y[:half])
    auc = roc_auc_score(y[half:], model.predict_proba(X[half:])[:, 1])
    assert 0.62 < auc < 0.9


def test_drift_shifts_marginals_and_adds_unseen_categories():
    drift = DriftSpec(
        marginals={"Gender": {"Female": 0.7, "Male": 0.3}},
        unseen_share=0.2,
        height_shift=0.5,
        height_present_share=0.5,
    )
    drifted = generate_characters(10_000, seed=3, drift=drift)
    assert drifted["Gender"].eq("Female").mean() == pytest.approx(0.7, abs=0.02)
    assert drifted["Universe"].str.startswith("Earth-NEW").mean() == pytest.approx(0.2, abs=0.02)
    assert drifted["Height (m)"].notna().mean() == pytest.approx(0.5, abs=0.02)
    assert drifted["Height (m)"].mean() > 2.1


def test_concept_shift_changes_the_label_relationship():
    def alive_rate_by_origin(df):
        return df.groupby(df["Origin"].isin(["Robot", "Android", "Eternal"]))["Alive"].apply(
            lambda s: s.eq("Alive").mean()
        )

    before = alive_rate_by_origin(generate_characters(40_000, seed=9))
    after = alive_rate_by_origin(generate_characters(40_000, seed=9, drift={"concept_shift": 1.0}))
    assert before[True] > before[False]
    assert after[True] < after[False]


def test_unknown_drift_option_is_named():
    with pytest.raises(ValueError, match="colour"):
        DriftSpec.from_dict({"colour": 1})
