"""The one decision rule, as every scorer applies it."""

import numpy as np

from marvel_mlops.model.decision import alive_labels
from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.serving.models import ServedModel
from tests.factories import clean_characters, train_model


def test_the_threshold_itself_counts_as_alive():
    assert alive_labels([0.29, 0.3, 0.31, np.nan], 0.3).tolist() == [0, 1, 1, 0]


def test_pyfunc_and_server_label_every_record_alike_at_the_threshold():
    data = clean_characters(400, seed=3)
    model = train_model(data.head(300))
    rows = data.tail(100)[list(INPUT_COLUMNS)]
    pyfunc = model.predict(None, rows)
    threshold = float(np.median(pyfunc["probability"]))  # labels split near half
    model.threshold = threshold
    served = ServedModel("m", "1", threshold, model.features, model.booster)
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    probabilities, labels = served.score(records)
    expected = model.predict(None, rows)
    assert labels == expected["label"].tolist()
    assert np.allclose(probabilities, expected["probability"])
    assert 0 < sum(labels) < len(labels)  # the threshold splits the records
