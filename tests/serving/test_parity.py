"""What the server computes equals what the registered pyfunc computes."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marvel_mlops.adapters import registry
from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.serving.app import create_app
from marvel_mlops.serving.models import ServedModel
from tests.serving.conftest import (
    LiveServer,
    input_frame,
    make_settings,
    pyfunc_predictions,
    random_records,
)


def test_server_equals_pyfunc_over_many_random_records(store, registry_uri):
    records = random_records(2400, seed=5)
    app = create_app(make_settings(store))
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as http:
        served = []
        for start in range(0, len(records), 800):
            response = http.post("/v1/predict", json={"records": records[start : start + 800]})
            assert response.status_code == 200, response.text
            served += response.json()["predictions"]
    expected = pyfunc_predictions(store.versions[0], records)
    got = pd.DataFrame(served)
    assert got["page_id"].tolist() == [r["page_id"] for r in records]
    np.testing.assert_allclose(got["probability"], expected["probability"], rtol=1e-12, atol=0)
    assert (got["label"].to_numpy() == expected["label"].to_numpy()).all()
    assert 0 < got["label"].mean() < 1  # both classes occur: the comparison means something


TEXT = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["Earth-616", "Male", "Female", "Widow", "Mutant", "X-Men;Avengers", " "]),
)
NUMBER = st.one_of(st.none(), st.floats(min_value=0, max_value=1e9, allow_nan=False))
RECORD = st.fixed_dictionaries(
    {},
    optional={c: NUMBER if c in ("height_m", "weight_kg") else TEXT for c in INPUT_COLUMNS},
)


def test_hot_path_equals_pyfunc_for_generated_records(store, registry_uri):
    """Property: the pandas-free scoring path and the pyfunc agree on any valid input."""
    loaded = registry.load_version(store.name, store.versions[1])
    served = ServedModel.from_pyfunc(loaded.pyfunc, store.name, store.versions[1])

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(records=st.lists(RECORD, min_size=1, max_size=30))
    def check(records):
        probabilities, labels = served.score(records)
        expected = loaded.pyfunc.predict(input_frame(records))
        np.testing.assert_allclose(probabilities, expected["probability"], rtol=1e-12, atol=0)
        assert labels == expected["label"].tolist()

    check()


def test_dataframe_split_typed_by_column_equals_row_by_row():
    """The column-at-a-time validation of ``dataframe_split`` gives the records the
    row-by-row validation gives (and defers to it when a value is wrong)."""
    from marvel_mlops.serving.schemas import (
        INVOCATION_COLUMNS,
        _typed,
        _typed_by_column,
        request_schemas,
    )

    schemas = request_schemas(1000)
    columns = list(INVOCATION_COLUMNS)
    records = random_records(300, seed=11)
    data = [[r.get(c) for c in columns] for r in records]
    data[0][columns.index("height_m")] = float("nan")  # MLflow clients' missing number
    data[1][columns.index("weight_kg")] = 80  # a JSON integer
    rows = [dict(zip(columns, row, strict=True)) for row in data]
    by_column = _typed_by_column(columns, data, schemas)
    assert by_column == _typed(rows, schemas, "dataframe_split.data")
    assert by_column[0]["height_m"] is None and by_column[1]["weight_kg"] == 80.0
    data[2][columns.index("universe")] = 616
    assert _typed_by_column(columns, data, schemas) is None
