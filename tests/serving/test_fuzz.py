"""Fuzzing a real server: schema-driven (schemathesis, from our OpenAPI) and arbitrary JSON
(hypothesis). No input may produce a 5xx; responses must match the documented schema."""

from __future__ import annotations

import json

import httpx
import mlflow
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection

from marvel_mlops.serving.app import create_app
from tests.serving.conftest import LiveServer, make_settings


@pytest.fixture(scope="module")
def live(store, tmp_path_factory):
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(store.uri)
    mlflow.set_registry_uri(store.uri)
    log = tmp_path_factory.mktemp("fuzz") / "inference_log"
    app = create_app(make_settings(store, log, max_records=20, max_body_bytes=8192,
                                   ab_challenger_share=0.5, shadow=True))  # fmt: skip
    with LiveServer(app) as server:
        yield server
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


@pytest.fixture(scope="module")
def api_schema(live):
    return schemathesis.openapi.from_url(f"{live.url}/openapi.json")


POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
OPERATIONS = [
    ("/invocations", "POST", POSITIVE), ("/invocations", "POST", NEGATIVE),
    ("/v1/predict", "POST", POSITIVE), ("/v1/predict", "POST", NEGATIVE),
    ("/health", "GET", POSITIVE), ("/ready", "GET", POSITIVE), ("/version", "GET", POSITIVE),
    ("/metrics", "GET", POSITIVE),
]  # fmt: skip


@pytest.mark.parametrize(("path", "method", "mode"), OPERATIONS)
def test_schema_driven_fuzz_finds_no_server_error(api_schema, path, method, mode):
    """Requests generated from our OpenAPI schema (valid, then invalid), all checks on:
    no 5xx, documented status codes and content types, responses match their schemas,
    invalid data rejected, valid data accepted."""
    operation = api_schema[path][method]
    examples = 40 if method == "POST" else 5

    strategy = operation.as_strategy(generation_mode=mode)
    if mode == GenerationMode.POSITIVE:
        strategy = strategy.filter(_expressible)

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case):
        if mode == POSITIVE:
            case.call_and_validate()
            return
        # Invalid data must be refused with a 4xx; 413 (body over the limit) counts too,
        # which schemathesis' own rejection check does not list.
        response = case.call_and_validate(excluded_checks=[negative_data_rejection])
        assert 400 <= response.status_code < 500, response.text[:500]

    check()


NUMERIC = ("height_m", "weight_kg")


def _cell_ok(column: str, value) -> bool:
    if value is None:
        return True
    if column in NUMERIC:
        return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    return isinstance(value, str) and (column != "page_id" or 0 < len(value) <= 512)


def _expressible(case) -> bool:
    """Leaves out bodies breaking the rules of ``dataframe_split`` that JSON Schema cannot
    state (the OpenAPI text does): each row has one value per column, of that column's type;
    and columnar ``inputs`` have equal lengths."""
    body = case.body if isinstance(case.body, dict) else {}
    split = body.get("dataframe_split")
    if isinstance(split, dict):
        columns = split["columns"]
        return all(
            len(row) == len(columns) and all(map(_cell_ok, columns, row)) for row in split["data"]
        )
    inputs = body.get("inputs")
    if isinstance(inputs, dict):
        return len({len(values) for values in inputs.values()}) <= 1
    return True


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(["records", "page_id", "height_m", "universe", "dataframe_split",
                         "dataframe_records", "inputs", "columns", "data", "teams", "x"]),
        children, max_size=4),
    max_leaves=25,
)  # fmt: skip


def test_arbitrary_json_never_gets_a_server_error(live):
    with httpx.Client(base_url=live.url, timeout=30) as http:

        @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
        @given(body=JSON, endpoint=st.sampled_from(["/v1/predict", "/invocations"]))
        def check(body, endpoint):
            response = http.post(endpoint, content=json.dumps(body),
                                 headers={"content-type": "application/json"})  # fmt: skip
            assert response.status_code < 500, (body, response.text)
            if response.status_code >= 400:
                answer = response.json()
                assert answer["error_code"] and answer["message"]

        check()
