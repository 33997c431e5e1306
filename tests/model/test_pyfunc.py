"""The pyfunc's probabilities are the fitted pipeline's, bit for bit."""

import numpy as np

from marvel_mlops.data.generator import generate_characters
from marvel_mlops.data.schema import RAW_TO_CLEAN
from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.model.pyfunc import MarvelCharacterModel
from marvel_mlops.model.training import build_pipeline, fit_pipeline


def test_pyfunc_probabilities_equal_the_pipeline_bit_for_bit():
    data = generate_characters(3000, 4).rename(columns=RAW_TO_CLEAN)
    y = (data["alive"].str.lower() == "alive").astype(int).to_numpy()
    features = {"min_category_count": 20, "top_teams": 5, "top_creators": 5}
    params = {"n_estimators": 40, "num_leaves": 15, "min_data_per_group": 20}
    pipeline = fit_pipeline(build_pipeline(features, params, 1), data[list(INPUT_COLUMNS)], y)
    model = MarvelCharacterModel(pipeline, 0.5)
    frame = generate_characters(2000, 8).rename(columns=RAW_TO_CLEAN)
    expected = pipeline.predict_proba(frame[list(INPUT_COLUMNS)])[:, 1]
    got = model.predict(None, frame[list(reversed(INPUT_COLUMNS))])
    np.testing.assert_array_equal(got["probability"].to_numpy(), expected)
    np.testing.assert_array_equal(got["label"].to_numpy(), (expected >= 0.5).astype("int64"))
    records = frame[list(INPUT_COLUMNS)].astype(object).where(frame.notna(), None)
    np.testing.assert_array_equal(model.predict_records(records.to_dict("records")), expected)
