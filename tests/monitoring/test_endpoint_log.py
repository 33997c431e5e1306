"""Endpoint inference table → inference_log, on payload rows whose bodies real servers produced."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path

import mlflow
import pandas as pd
import pyarrow as pa
import pytest
from pyspark.sql import functions as F  # noqa: N812

from marvel_mlops.adapters import delta
from marvel_mlops.data.schema import INFERENCE_LOG_COLUMNS
from marvel_mlops.monitoring import endpoint_log, traffic
from marvel_mlops.monitoring.endpoint_log import (
    PAYLOAD_COLUMNS,
    TEXT_LIMIT,
    endpoint_watermark,
    ingest_payload,
    new_requests,
    parse_payload_row,
    request_records,
)
from tests.monitoring.endpoint_payloads import (
    BASE_TIME,
    ENTITIES,
    UNKNOWN_ENTITY,
    Capture,
    PayloadRow,
    mlflow_server_capture,
    payload_table,
    project_server_captures,
    registered_versions,
    served_entities_table,
)

ENDPOINT = "marvel-endpoint-dev"
KEY = ["request_id", "record_index"]


@dataclass(frozen=True)
class Endpoint:
    captures: dict[str, Capture]
    versions: tuple[str, str]
    payload: object  # Spark DataFrame read back from the Delta payload table
    entities: object
    expected: dict[str, tuple[Capture, str, float]]  # request id → capture, entity, duration


@pytest.fixture(scope="module")
def endpoint(spark, tmp_path_factory: pytest.TempPathFactory) -> Endpoint:
    root = tmp_path_factory.mktemp("endpoint")
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    try:
        versions = registered_versions(root)
        records = traffic.records(traffic.characters(14, seed=77))
        captures = project_server_captures(records)
        captures["mlflow_split"] = mlflow_server_capture(versions[1], records[10:14])
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
    rows, expected = _payload_rows(captures)
    table = root / "marvel_endpoint_payload"
    delta.write_table(table, payload_table(rows))
    payload = spark.createDataFrame(delta.open_table(table).to_pyarrow_table())
    entities = spark.createDataFrame(served_entities_table(*versions))
    return Endpoint(captures, versions, payload, entities, expected)


def _payload_rows(c: dict[str, Capture]) -> tuple[list[PayloadRow], dict]:
    champion, challenger = ENTITIES["champion"], ENTITIES["challenger"]
    good = [
        PayloadRow("r-01", c["dataframe_records"], champion, 30),
        PayloadRow("r-02", c["dataframe_split"], champion, 20),
        PayloadRow("r-03", c["inputs_records"], champion, 7),
        PayloadRow("r-04", c["inputs_columns"], champion, 45),
        PayloadRow("r-05", c["mlflow_split"], challenger, 40),
    ]
    bad = [
        PayloadRow("r-06", c["refused"], champion, 1),
        PayloadRow(
            "r-07", c["inputs_records"], champion, 3, request=c["inputs_records"].request[:-3]
        ),
        PayloadRow(
            "r-08",
            None,
            champion,
            5,
            request=c["dataframe_records"].request,
            response=c["inputs_records"].response,
        ),
        PayloadRow("r-09", None, champion, 9, logging_error_codes=("MAX_REQUEST_SIZE_EXCEEDED",)),
    ]
    last = PayloadRow("r-10", c["dataframe_records"], UNKNOWN_ENTITY, 9)
    expected = {r.request_id: (r.capture, r.entity, r.duration_ms) for r in [*good, last]}
    return [*good, *bad, last], expected


@pytest.fixture(scope="module")
def ingested(endpoint: Endpoint) -> tuple[pd.DataFrame, pd.DataFrame, object]:
    rows, rejects = ingest_payload(endpoint.payload, endpoint.entities, endpoint_name=ENDPOINT)
    return rows.toPandas(), rejects.toPandas(), rows


def test_fixtures_are_real_exchanges_in_the_documented_schema(endpoint: Endpoint) -> None:
    types = {f.name: f.dataType.simpleString() for f in endpoint.payload.schema.fields}
    assert types == {k: v.lower() for k, v in PAYLOAD_COLUMNS.items()}
    statuses = {name: c.status for name, c in endpoint.captures.items()}
    assert statuses.pop("refused") == 422
    assert set(statuses.values()) == {200}
    # Loaded as Databricks' serving container loads it, our pyfunc cannot know its version.
    assert {p["model_version"] for p in endpoint.captures["mlflow_split"].predictions} == {
        "unregistered"
    }
    assert b"NaN" in endpoint.captures["mlflow_split"].request  # MLflow's client sends NaN


def test_one_row_per_record_in_every_format(ingested, endpoint: Endpoint) -> None:
    rows = ingested[0]
    counts = rows.groupby("request_id").size().to_dict()
    assert counts == {"r-01": 3, "r-02": 2, "r-03": 2, "r-04": 3, "r-05": 4, "r-10": 3}
    for request_id, (capture, _, _) in endpoint.expected.items():
        got = rows[rows.request_id == request_id].sort_values("record_index")
        assert got.record_index.tolist() == list(range(len(capture.records)))
        sent = pd.DataFrame(capture.records)
        assert got.page_id.tolist() == sent.page_id.tolist()
        for column in ("universe", "teams", "origin", "height_m", "weight_kg"):
            assert _same(got[column], sent[column]), (request_id, column)
        predictions = pd.DataFrame(capture.predictions)
        assert got.probability.tolist() == predictions.probability.tolist()
        assert got.label.tolist() == predictions.label.tolist()


def _same(left: pd.Series, right: pd.Series) -> bool:
    a, b = left.reset_index(drop=True), right.reset_index(drop=True)
    return bool(((a == b) | (a.isna() & b.isna())).all())


def test_contract_types_variant_version_latency_and_time(ingested, endpoint: Endpoint) -> None:
    rows, _, frame = ingested
    kinds = {"string": "string", "int": "int", "double": "double", "boolean": "boolean",
             "timestamp": "timestamp"}  # fmt: skip
    assert [(f.name, f.dataType.simpleString()) for f in frame.schema.fields] == [
        (name, kinds[kind]) for name, kind in INFERENCE_LOG_COLUMNS.items()
    ]
    by_request = rows.groupby("request_id").first()
    champion, challenger = endpoint.versions
    assert by_request.variant.to_dict() == {
        "r-01": "champion", "r-02": "champion", "r-03": "champion", "r-04": "champion",
        "r-05": "challenger", "r-10": UNKNOWN_ENTITY,
    }  # fmt: skip
    # Our server names the version; MLflow's server says "unregistered": the entity's version.
    assert by_request.model_version.to_dict() == {
        "r-01": champion, "r-02": champion, "r-03": champion, "r-04": champion,
        "r-05": challenger, "r-10": champion,
    }  # fmt: skip
    assert by_request.latency_ms.to_dict() == {
        "r-01": 10.0,
        "r-02": 10.0,
        "r-03": 3.5,
        "r-04": 15.0,
        "r-05": 10.0,
        "r-10": 3.0,
    }
    assert rows.served.all()
    assert frame.where(F.isnan("height_m") | F.isnan("weight_kg")).count() == 0  # nulls stay null
    assert rows.height_m.isna().any()
    sent = endpoint.payload.select(
        F.col("databricks_request_id").alias("request_id"), "request_time"
    )
    joined = frame.join(sent, "request_id")
    assert joined.where("timestamp_utc = request_time").count() == len(rows)


def test_unusable_requests_are_rejects_with_reasons(ingested, endpoint: Endpoint) -> None:
    rows, rejects, _ = ingested
    reasons = rejects.set_index("request_id").reason.to_dict()
    assert reasons == {
        "r-06": "http_422",
        "r-07": "bad_json_request",
        "r-08": "count_mismatch",
        "r-09": "not_logged:MAX_REQUEST_SIZE_EXCEEDED",
    }
    assert rejects.record_index.isna().all()
    bad_json = rejects.set_index("request_id").loc["r-07"]
    assert (
        bad_json.request == endpoint.captures["inputs_records"].request[:-3].decode()[:TEXT_LIMIT]
    )
    assert "INVALID_INPUT" in rejects.set_index("request_id").loc["r-06"].response
    assert rejects.request_time.notna().all()
    assert not set(rejects.request_id) & set(rows.request_id)  # every request lands once


def test_a_record_that_cannot_be_read_is_a_record_reject(endpoint: Endpoint) -> None:
    capture = endpoint.captures["dataframe_records"]
    response = json.loads(capture.response)
    del response["predictions"][1]["probability"]  # a real answer, one field removed
    rows = parse_payload_row(200, capture.request.decode(), json.dumps(response), [])
    assert [r.get("reason") for r in rows] == [None, "bad_prediction", None]
    assert [r["record_index"] for r in rows] == [0, 1, 2]
    body = json.loads(capture.request)
    body["dataframe_records"][2]["height_m"] = "tall"
    rows = parse_payload_row(200, json.dumps(body), capture.response.decode(), [])
    assert rows[2]["reason"] == "bad_feature:height_m"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"dataframe_split": {"columns": ["page_id"], "data": [["a", "b"]]}}, "bad_records"),
        ({"inputs": {"page_id": ["a", "b"], "universe": ["x"]}}, "bad_records"),
        ({"inputs": [{"page_id": "a"}], "dataframe_records": []}, "unknown_format"),
        ({"predictions": []}, "unknown_format"),
    ],
)
def test_request_shapes_that_are_refused(body: dict, reason: str) -> None:
    with pytest.raises(endpoint_log.PayloadProblem, match=reason):
        request_records(body)


def test_only_requests_after_the_watermark_minus_the_lookback(ingested, endpoint: Endpoint) -> None:
    rows, _, frame = ingested
    assert endpoint_watermark(frame.limit(0)) is None
    latest = endpoint_watermark(frame)
    assert latest == BASE_TIME + timedelta(seconds=18)  # r-10, the newest request
    fourth = BASE_TIME + timedelta(seconds=6)  # r-04; r-01 and r-02 are from the day before
    ids = lambda df: sorted(r[0] for r in df.select("databricks_request_id").collect())  # noqa: E731
    assert ids(new_requests(endpoint.payload, fourth, lookback_hours=0)) == [
        f"r-{i:02d}" for i in range(5, 11)
    ]
    assert len(ids(new_requests(endpoint.payload, fourth, lookback_hours=1))) == 10
    naive = fourth.astimezone(UTC).replace(tzinfo=None)
    assert ids(new_requests(endpoint.payload, naive, 0)) == ids(
        new_requests(endpoint.payload, fourth, 0)
    )
    later, rejects = ingest_payload(endpoint.payload, endpoint.entities, latest, lookback_hours=0)
    assert later.count() == 0 and rejects.count() == 0


def test_rerun_and_lookback_reread_merge_to_the_same_keys(
    ingested, endpoint: Endpoint, tmp_path: Path
) -> None:
    first = ingested[2]
    again, _ = ingest_payload(endpoint.payload, endpoint.entities, endpoint_name=ENDPOINT)
    overlap, _ = ingest_payload(
        endpoint.payload, endpoint.entities, BASE_TIME + timedelta(seconds=6), 1, ENDPOINT
    )
    keys = lambda df: sorted(tuple(r) for r in df.select(*KEY).collect())  # noqa: E731
    assert keys(again) == keys(first)
    assert len(set(keys(first))) == len(keys(first)) == 17
    table = tmp_path / "inference_log"
    for frame in (first, again, overlap):
        delta.write_table(table, frame.toArrow(), mode="merge", keys=KEY, delete_missing=False)
    stored = delta.open_table(table).to_pyarrow_table()
    assert stored.num_rows == 17
    assert stored.schema.field("record_index").type == pa.int32()


def test_statuses_and_missing_bodies_are_named() -> None:
    assert parse_payload_row(float("nan"), None, None) == [{"reason": "missing_status"}]
    assert parse_payload_row(503.0, None, None) == [{"reason": "http_503"}]
    assert parse_payload_row(200, "{}", None, []) == [{"reason": "missing_body"}]


def test_extra_protocol_keys_are_ignored(endpoint: Endpoint) -> None:
    body = json.loads(endpoint.captures["dataframe_split"].request)
    body.update({"client_request_id": "abc", "params": {}})
    assert body["dataframe_split"]["columns"][0] == "page_id"
    pages = [row[0] for row in body["dataframe_split"]["data"]]
    assert [r["page_id"] for r in request_records(body)] == pages


def test_a_row_without_request_id_is_a_reject(spark, endpoint: Endpoint) -> None:
    row = PayloadRow(None, endpoint.captures["dataframe_records"], ENTITIES["champion"], 5)
    payload = spark.createDataFrame(payload_table([row]))
    rows, rejects = ingest_payload(payload, endpoint.entities)
    assert rows.count() == 0
    assert [r.reason for r in rejects.collect()] == ["missing_request_id"]
