"""Real request and response bodies for inference-table fixtures.

Bodies are captured byte for byte from real servers scoring a real registered pyfunc:

* the project's FastAPI app (``/invocations``: ``dataframe_records``, ``dataframe_split``,
  ``inputs`` as records and as columns, and a refused body);
* MLflow's own scoring server (``mlflow.pyfunc.scoring_server``), which is what a
  Databricks Model Serving endpoint runs for a custom pyfunc, with the request built by
  MLflow's client serialiser. The model is loaded as the serving container loads it (no
  ``model_config``), so it answers ``model_version: "unregistered"``.

The payload table rows around these bodies follow the documented AI Gateway schema.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
import pyarrow as pa
from fastapi.testclient import TestClient

from marvel_mlops.adapters import registry
from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.monitoring import traffic
from marvel_mlops.serving.app import create_app
from marvel_mlops.serving.settings import InferenceLogSettings, ServingSettings
from tests.factories import register, train_model

MODEL_NAME = "marvel_endpoint_test_model"
JSON = {"content-type": "application/json"}
ENTITIES = {"champion": "se-champion-0001", "challenger": "se-challenger-0002"}
UNKNOWN_ENTITY = "se-retired-0000"
BASE_TIME = datetime(2026, 11, 20, 23, 59, 58, tzinfo=UTC)


@dataclass(frozen=True)
class Capture:
    """One HTTP exchange: exact request bytes, status, exact response bytes."""

    name: str
    request: bytes
    status: int
    response: bytes
    records: list[dict] = field(default_factory=list)

    @property
    def predictions(self) -> list[dict]:
        return json.loads(self.response)["predictions"]


def registered_versions(root: Path) -> tuple[str, str]:
    """Two small real models registered in a SQLite registry under ``root``: champion, challenger."""
    uri = f"sqlite:///{root}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment(experiment_id=mlflow.create_experiment(
        "endpoint", artifact_location=str(root / "artifacts")))  # fmt: skip
    train = traffic.characters(1500, seed=3)
    champion = register(train_model(train, model_params={"n_estimators": 30}), MODEL_NAME, train)
    small = {"n_estimators": 10, "num_leaves": 7}
    challenger = register(train_model(train, seed=9, model_params=small), MODEL_NAME, train)
    registry.set_alias(MODEL_NAME, registry.CHAMPION, champion)
    registry.set_alias(MODEL_NAME, registry.CHALLENGER, challenger)
    return champion, challenger


def _post(client: TestClient, name: str, body: bytes, records: list[dict]) -> Capture:
    answer = client.post("/invocations", content=body, headers=JSON)
    return Capture(name, body, answer.status_code, answer.content, records)


def project_server_captures(records: list[dict]) -> dict[str, Capture]:
    """The project's FastAPI ``/invocations`` in every request format, plus a refused body."""
    settings = ServingSettings(
        model_name=MODEL_NAME, poll_interval_s=60, inference_log=InferenceLogSettings(enabled=False)
    )
    a, b, c, d = records[:3], records[3:5], records[5:7], records[7:10]
    split = {"columns": list(b[0]), "data": [list(r.values()) for r in b], "index": [10, 11]}
    columns = {k: [r[k] for r in d] for k in d[0]}
    bodies = {
        "dataframe_records": ({"dataframe_records": a}, a),
        "dataframe_split": ({"dataframe_split": split}, b),
        "inputs_records": ({"inputs": c}, c),
        "inputs_columns": ({"inputs": columns}, d),
        "refused": ({"dataframe_records": [{**a[0], "height_m": "tall"}]}, []),
    }
    with TestClient(create_app(settings)) as client:
        return {
            name: _post(client, name, json.dumps(body).encode(), rows)
            for name, (body, rows) in bodies.items()
        }


def mlflow_server_capture(version: str, records: list[dict]) -> Capture:
    """MLflow's scoring server (as in Databricks Model Serving) answering an MLflow client body."""
    import pandas as pd
    from mlflow.pyfunc import scoring_server
    from mlflow.utils.proto_json_utils import dump_input_data

    frame = pd.DataFrame(records, columns=["page_id", *INPUT_COLUMNS])
    frame[["height_m", "weight_kg"]] = frame[["height_m", "weight_kg"]].astype("float64")
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/{version}")
    flag = "_MLFLOW_IS_IN_SERVING_ENVIRONMENT"
    previous = os.environ.get(flag)
    try:
        with TestClient(scoring_server.init(model)) as client:
            return _post(client, "mlflow_split", dump_input_data(frame).encode(), records)
    finally:
        os.environ.pop(flag, None) if previous is None else os.environ.update({flag: previous})


@dataclass(frozen=True)
class PayloadRow:
    """One inference-table row around a capture (or around broken bodies)."""

    request_id: str | None
    capture: Capture | None
    entity: str
    duration_ms: int
    request: bytes | None = None
    response: bytes | None = None
    status: int | None = None
    logging_error_codes: tuple[str, ...] = ()


def payload_table(rows: list[PayloadRow], start: datetime = BASE_TIME) -> pa.Table:
    """The rows as an Arrow table of exactly the documented inference-table schema."""
    times = [start + timedelta(seconds=2 * i) for i in range(len(rows))]
    text = [_body(r.request, r.capture, "request") for r in rows]
    answer = [_body(r.response, r.capture, "response") for r in rows]
    columns = {
        "request_date": pa.array([t.date() for t in times], pa.date32()),
        "databricks_request_id": pa.array([r.request_id for r in rows], pa.string()),
        "client_request_id": pa.array([None] * len(rows), pa.string()),
        "request_time": pa.array(times, pa.timestamp("us", tz="UTC")),
        "status_code": pa.array([_status(r) for r in rows], pa.int32()),
        "sampling_fraction": pa.array([1.0] * len(rows), pa.float64()),
        "execution_duration_ms": pa.array([r.duration_ms for r in rows], pa.int64()),
        "request": pa.array(text, pa.string()),
        "response": pa.array(answer, pa.string()),
        "served_entity_id": pa.array([r.entity for r in rows], pa.string()),
        "logging_error_codes": pa.array(
            [list(r.logging_error_codes) for r in rows], pa.list_(pa.string())
        ),
        "requester": pa.array(["ml-ops@example.com"] * len(rows), pa.string()),
    }
    return pa.table(columns)


def _body(explicit: bytes | None, capture: Capture | None, side: str) -> str | None:
    if explicit is not None:
        return explicit.decode()
    return None if capture is None else getattr(capture, side).decode()


def _status(row: PayloadRow) -> int:
    if row.status is not None:
        return row.status
    return row.capture.status if row.capture else 200


def served_entities_table(champion: str, challenger: str) -> pa.Table:
    """``system.serving.served_entities`` rows for the endpoint (an older config row included)."""
    change = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [
        (ENTITIES["champion"], "champion", champion, change),
        (ENTITIES["challenger"], "challenger", "0", change - timedelta(days=1)),
        (ENTITIES["challenger"], "challenger", challenger, change),
        ("se-other-endpoint", "champion", "99", change),
    ]
    return pa.table(
        {
            "served_entity_id": [r[0] for r in rows],
            "endpoint_id": ["ep-1", "ep-1", "ep-1", "ep-2"],
            "endpoint_name": ["marvel-endpoint-dev"] * 3 + ["another-endpoint"],
            "served_entity_name": [r[1] for r in rows],
            "entity_type": ["CUSTOM_MODEL"] * 4,
            "entity_name": [f"main.marvel.{MODEL_NAME}"] * 4,
            "entity_version": [r[2] for r in rows],
            "change_time": pa.array([r[3] for r in rows], pa.timestamp("us", tz="UTC")),
        }
    )
