"""CharacterFeatures: learned vocabularies, unseen and missing values, two identical paths."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marvel_mlops.model.features import (
    INPUT_COLUMNS,
    CharacterFeatures,
    normalise_gender,
    normalise_marital,
    origin_group,
)


def frame(n_616=60, n_rare=3):
    rows = [
        {
            "universe": "Earth-616",
            "identity": "Secret",
            "gender": "Female",
            "marital_status": "Widow",
            "teams": "Avengers; X-Men",
            "height_m": 1.8,
            "weight_kg": 70.0,
            "origin": "Human Mutate",
            "creators": "Stan Lee",
        }
    ] * n_616
    rows += [{"universe": "Earth-42", "gender": "Agender", "origin": "Mutant"}] * n_rare
    return pd.DataFrame(rows, columns=list(INPUT_COLUMNS))


@pytest.fixture
def fitted():
    return CharacterFeatures(min_category_count=50, top_teams=5, top_creators=5).fit(frame())


def column(features, X, name):
    names = list(features.get_feature_names_out())
    return features.transform(X)[:, names.index(name)]


def test_rare_and_unseen_universes_become_other(fitted):
    X = pd.DataFrame({"universe": ["Earth-616", "Earth-42", "Earth-NEW", None]})
    codes = column(fitted, X, "universe")
    other, unknown = fitted.codes_["universe"]["Other"], fitted.codes_["universe"]["Unknown"]
    assert codes[1] == codes[2] == other
    assert codes[3] == unknown
    assert codes[0] not in (other, unknown)


def test_all_missing_columns_and_missing_columns_are_handled(fitted):
    empty = pd.DataFrame({c: [None, None] for c in INPUT_COLUMNS})
    out = fitted.transform(empty)
    assert out.shape == (2, len(fitted.get_feature_names_out()))
    assert np.isnan(out[:, list(fitted.get_feature_names_out()).index("height_m")]).all()
    only_one = fitted.transform(pd.DataFrame({"gender": ["Male"]}))
    assert only_one.shape[0] == 1


def test_column_order_is_irrelevant(fitted):
    X = frame(5, 5)
    shuffled = X[list(reversed(X.columns))].assign(extra="ignored")
    np.testing.assert_array_equal(fitted.transform(X), fitted.transform(shuffled))


def test_course_cleaning_rules():
    assert normalise_marital("Widow") == "Widowed"
    assert normalise_marital("  ") == "Unknown"
    assert normalise_gender("Agender") == "Other" and normalise_gender(None) == "Unknown"
    assert origin_group("Human (Mutant)") == "Mutant"
    assert origin_group("Asgardian God") == "Asgardian"
    assert origin_group("Klyntar") == "Symbiote"
    assert origin_group("Nanite Swarm") == "Other"
    assert origin_group(float("nan")) == "Unknown"


def test_teams_and_creators_are_counted_and_indicated(fitted):
    X = pd.DataFrame(
        {
            "teams": ["Avengers; X-Men; Avengers", "", None],
            "creators": ["Stan Lee", None, "Unknown Writer"],
        }
    )
    assert list(column(fitted, X, "n_teams")) == [2, 0, 0]
    assert list(column(fitted, X, "team:Avengers")) == [1, 0, 0]
    assert list(column(fitted, X, "creator:Stan Lee")) == [1, 0, 0]


values = st.one_of(
    st.none(),
    st.just(""),
    st.just("  "),
    st.floats(allow_nan=True),
    st.sampled_from(
        [
            "Earth-616",
            "Earth-42",
            "Secret",
            "Female",
            "Widow",
            "Avengers; X-Men",
            "Human Mutate",
            "Stan Lee",
            "1.8",
            "not a number",
        ]
    ),
    st.text(max_size=12),
)
records = st.lists(
    st.fixed_dictionaries({c: values for c in INPUT_COLUMNS}), min_size=1, max_size=20
)


@settings(max_examples=150, deadline=None)
@given(records)
def test_record_path_equals_pandas_path(batch):
    features = CharacterFeatures(min_category_count=50, top_teams=5, top_creators=5).fit(frame())
    from_records = features.transform_records(batch)
    from_frame = features.transform(pd.DataFrame(batch, columns=list(INPUT_COLUMNS)))
    np.testing.assert_array_equal(np.isnan(from_records), np.isnan(from_frame))
    both = ~np.isnan(from_records)
    np.testing.assert_array_equal(from_records[both], from_frame[both])
    assert all(math.isfinite(v) or math.isnan(v) for v in from_records.ravel())


def test_per_value_cache_keeps_none_and_nan_apart():
    """Found by hypothesis: an object column holding both None and NaN broke the pandas
    path (a dict mapper becomes an index, which cannot hold both)."""
    from marvel_mlops.model.features import _cached

    series = pd.Series([float("nan"), None, "Human", None], dtype=object)
    mapped = series.map(_cached(series, repr)).tolist()
    assert mapped == ["nan", "None", "'Human'", "None"]


def test_record_memo_is_bounded_and_left_out_of_the_pickle(fitted):
    """The record path remembers per-value features; the memo stays bounded and local."""
    import pickle

    from marvel_mlops.model import features as module

    batch = [{"teams": f"Team {i}; Avengers", "universe": "Earth-616"} for i in range(300)]
    original = module.MEMO_SIZE
    module.MEMO_SIZE = 100
    try:
        first = fitted.transform_records(batch)
        again = fitted.transform_records(batch)  # served from the memo
    finally:
        module.MEMO_SIZE = original
    expected = fitted.transform(pd.DataFrame(batch))
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(again, expected)
    assert 0 < len(fitted.__dict__["_memo"]["teams"]) <= 100
    assert "_memo" not in pickle.loads(pickle.dumps(fitted)).__dict__


def test_mixed_type_and_pandas_na_columns_agree_with_the_record_path():
    """Distinct values are grouped only when they are plain strings: 1, 1.0, True and
    "1" stay apart, and pd.NA is read as before (the per-row fallback)."""
    fitted = CharacterFeatures(min_category_count=50, top_teams=5, top_creators=5)
    fitted.fit(frame().assign(teams="True", universe="True", origin="True"))
    assert "True" in fitted.teams_ and "True" in fitted.codes_["universe"]
    values = [1, 1.0, True, "1", None, float("nan"), "Avengers", " X-Men ;Avengers"]
    batch = [{"teams": v, "universe": v, "origin": v} for v in values]
    np.testing.assert_array_equal(
        fitted.transform(pd.DataFrame(batch)), fitted.transform_records(batch)
    )
    nul = pd.DataFrame({"universe": ["True\x00a", "True\x00b", "True"]})  # found by hypothesis
    np.testing.assert_array_equal(
        fitted.transform(nul), fitted.transform_records(nul.to_dict("records"))
    )
    strings = pd.DataFrame({"teams": pd.array(["Avengers", None], dtype="string")})
    records = [{"teams": v} for v in strings["teams"].astype(object)]
    np.testing.assert_array_equal(fitted.transform(strings), fitted.transform_records(records))
