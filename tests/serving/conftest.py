"""Real parts for the server tests: a SQLite MLflow registry with two trained model
versions, real uvicorn servers on 127.0.0.1, real Delta tables."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import mlflow
import numpy as np
import pandas as pd
import pytest
import uvicorn

from marvel_mlops.adapters import registry
from marvel_mlops.model.features import INPUT_COLUMNS
from marvel_mlops.serving.server import uvicorn_config
from marvel_mlops.serving.settings import InferenceLogSettings, ServingSettings
from tests.factories import clean_characters, register, train_model

MODEL_NAME = "marvel_test_model"


@dataclass(frozen=True)
class Store:
    """A temporary registry: champion = v1, challenger = v2 (at session start)."""

    uri: str
    root: Path
    name: str
    versions: tuple[str, ...]
    characters: pd.DataFrame


def train_and_register(name: str, data: pd.DataFrame, params: dict, threshold: float) -> str:
    """Fits a small real model and registers it; returns the version."""
    model = train_model(data, seed=7, model_params=params, threshold=threshold)
    return register(model, name, data, {"test": "1"})


def use_store(uri: str) -> None:
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("serving_registry")
    uri = f"sqlite:///{root}/mlflow.db"
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    use_store(uri)
    mlflow.set_experiment(experiment_id=mlflow.create_experiment(
        "serving", artifact_location=str(root / "artifacts")))  # fmt: skip
    data = clean_characters(3000, seed=11)
    v1 = train_and_register(MODEL_NAME, data, {"n_estimators": 40, "num_leaves": 15}, 0.6)
    v2 = train_and_register(MODEL_NAME, data, {"n_estimators": 25, "num_leaves": 7}, 0.5)
    registry.set_alias(MODEL_NAME, registry.CHAMPION, v1)
    registry.set_alias(MODEL_NAME, registry.CHALLENGER, v2)
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])
    return Store(uri, root, MODEL_NAME, (v1, v2), clean_characters(400, seed=99))


@pytest.fixture
def registry_uri(store: Store) -> Iterator[str]:
    """Points MLflow at the test registry for one test, and restores the aliases after."""
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    use_store(store.uri)
    yield store.uri
    registry.set_alias(store.name, registry.CHAMPION, store.versions[0])
    registry.set_alias(store.name, registry.CHALLENGER, store.versions[1])
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


class LiveServer:
    """A real uvicorn server in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app) -> None:
        self.app = app
        settings = replace(app.state.serving.settings, host="127.0.0.1", port=0)
        self.server = uvicorn.Server(uvicorn_config(app, settings, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        # The port opens before the models load: tests start once the first load is done.
        assert self.app.state.serving.watcher.first_poll_done.wait(120), "no first model poll"
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "server did not shut down"


def records_of(frame: pd.DataFrame, with_page_id: bool = True) -> list[dict]:
    """JSON-ready records (NaN → None) with the model's inputs (and page_id)."""
    columns = (["page_id"] if with_page_id else []) + list(INPUT_COLUMNS)
    out = frame[columns].astype(object).where(frame[columns].notna(), None)
    records = out.to_dict("records")
    for record in records:
        for key in ("height_m", "weight_kg"):
            if record[key] is not None:
                record[key] = float(record[key])
    return records


def random_records(n: int, seed: int) -> list[dict]:
    """Messy random records: random blanks, unseen categories, odd numbers."""
    rng = np.random.default_rng(seed)
    base = records_of(clean_characters(n, seed))
    words = ["Earth-616", "Earth-TRN999", "", "  ", "Mutant", "Human Mutate", "Widow",
             "X-Men; Avengers", ";;", "Stan Lee;Jack Kirby", "agender", "ALIEN", "Ünïcödé"]  # fmt: skip
    for i, record in enumerate(base):
        record["page_id"] = f"Char_{seed}_{i}"
        for column in INPUT_COLUMNS:
            roll = rng.random()
            if roll < 0.15:
                record.pop(column, None)
            elif roll < 0.3:
                record[column] = None
            elif roll < 0.45:
                if column in ("height_m", "weight_kg"):
                    record[column] = float(rng.choice([0.0, 0.5, 1.8, 250.0, 1e6]))
                else:
                    record[column] = str(rng.choice(words))
    return base


def make_settings(
    store: Store, log_path: Path | None = None, compact_every_commits: int = 0, **overrides
) -> ServingSettings:
    """Settings for the test registry's model; inference log at ``log_path`` (off if None)."""
    log = InferenceLogSettings(
        enabled=log_path is not None,
        path=str(log_path or "unused"),
        batch_size=50,
        flush_interval_s=0.2,
        queue_max_records=10_000,
        compact_every_commits=compact_every_commits,
        compact_interval_s=0.0,
    )
    overrides.setdefault("poll_interval_s", 0.2)
    return ServingSettings(model_name=store.name, inference_log=log, **overrides)


def read_log(path: Path) -> pd.DataFrame:
    """The inference_log Delta table as pandas (empty frame if it does not exist)."""
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(str(path)):
        return pd.DataFrame(columns=["request_id"])
    return DeltaTable(str(path)).to_pandas()


def pyfunc_predictions(version: str, records: list[dict]) -> pd.DataFrame:
    """What the registered pyfunc itself answers for ``records``."""
    model = registry.load_version(MODEL_NAME, version)
    return model.pyfunc.predict(input_frame(records))


def input_frame(records: list[dict]) -> pd.DataFrame:
    """Records as the pyfunc's input frame: text columns object (None kept), numbers float."""
    columns = {}
    for c in INPUT_COLUMNS:
        values = [r.get(c) for r in records]
        numeric = c in ("height_m", "weight_kg")
        columns[c] = pd.Series(values, dtype="float64" if numeric else object)
    return pd.DataFrame(columns)


@pytest.fixture
def client(server):
    """An HTTP client of the module's ``server`` fixture (each test module defines its own)."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
