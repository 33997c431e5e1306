"""The FastAPI application.

Hot path (``/invocations``, ``/v1/predict``): raw body → one pydantic-core pass (JSON
parsing and strict validation into plain dicts) → features in Python → LightGBM on a
NumPy matrix → orjson. No pandas, no per-request I/O: inference-log rows go to a bounded
queue, shadow scoring to a background thread.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from importlib import metadata
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import ValidationError as PydanticValidationError

from marvel_mlops.serving.errors import (
    ERROR_DESCRIPTIONS,
    JSON,
    ApiProblem,
    add_error_handlers,
    problem_summary,
)
from marvel_mlops.serving.feature_lookup import add_feature_routes, ready_detail
from marvel_mlops.serving.middleware import Guard
from marvel_mlops.serving.models import ModelSource, source_for
from marvel_mlops.serving.openapi import add_docs_routes, openapi_schema, request_body
from marvel_mlops.serving.schemas import (
    ErrorResponse,
    FieldProblem,
    HealthResponse,
    InvocationsResponse,
    PredictResponse,
    VersionResponse,
    field_problems,
    invocation_records,
)
from marvel_mlops.serving.settings import ServingSettings
from marvel_mlops.serving.state import ServingState

logger = logging.getLogger(__name__)

# Requests with more records than this are scored in a worker thread (LightGBM releases
# the GIL) so that a big batch does not stall single-record requests on the event loop.
THREADED_SCORING_RECORDS = 64
# Bodies larger than this are validated in a worker thread, one at a time, so that a
# flood of big bad bodies cannot keep the event loop (and /health) waiting.
THREADED_VALIDATION_BYTES = 64 * 1024


def create_app(
    settings: ServingSettings,
    source: ModelSource | None = None,
    token: str | None = None,
    log_append: Callable | None = None,
    freeze_gc: bool = False,
    load_in_background: bool = False,
) -> FastAPI:
    """The server for ``settings``; ``source`` defaults to the registry's aliases.

    ``load_in_background`` (the CLI sets it) lets the server answer at once while the
    models load (``/health`` 200, ``/ready`` 503 with the reason); otherwise start-up
    waits for the first load attempt, so an in-process client can score right away.

    ``freeze_gc`` (the CLI sets it) moves everything loaded at start-up (MLflow, the
    model) out of the garbage collector's reach, so collections stay short on the hot path.
    """
    source = source or source_for(settings.model_name, settings.model_uri, settings.model_version)
    state = ServingState(settings, source, log_append)
    if freeze_gc:
        state.watcher.on_first_load = _freeze_gc

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.start()
        if not load_in_background:
            await asyncio.to_thread(state.watcher.first_poll_done.wait)
        yield
        await asyncio.to_thread(state.stop)

    app = FastAPI(
        title="Marvel character survival model",
        version=_package_version(),
        description=(
            "Scores Marvel characters with the registered `champion` (A/B and shadow "
            "with the `challenger`). `/invocations` speaks MLflow's scoring protocol."
        ),
        lifespan=lifespan,
        docs_url=None,  # served below from local assets: /docs works on a closed network
        redoc_url=None,
    )
    app.state.serving = state
    add_docs_routes(app)
    add_error_handlers(app, state.metrics.errors)
    _add_scoring_routes(app, state)
    add_feature_routes(app, state.features)
    _add_status_routes(app, state)
    app.openapi = lambda: openapi_schema(app, state, token is not None)  # type: ignore[method-assign]
    app.add_middleware(Guard, state=state, token=token)
    return app


def _freeze_gc() -> None:
    gc.collect()
    gc.freeze()


def _json_body(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    mime, _, params = content_type.partition(";")
    charset = params.strip().lower()
    if mime.strip().lower() != JSON or (charset and charset not in ("charset=utf-8",)):
        raise ApiProblem(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"send JSON: 'Content-Type: {JSON}' (got {content_type!r})",
            (("content-type", "must be application/json (UTF-8)"),),
        )


async def _validated(state: ServingState, adapter, body: bytes, tagged: bool = False) -> Any:
    """Validates on the event loop when small, else in a worker thread, one body at a time."""
    if len(body) < THREADED_VALIDATION_BYTES:
        return _validate(adapter, body, tagged)
    async with state.big_bodies:
        return await asyncio.to_thread(_validate, adapter, body, tagged)


def _validate(adapter, body: bytes, tagged: bool) -> Any:
    try:
        return adapter.validate_json(body, strict=True)
    except PydanticValidationError as error:
        problems = field_problems(error, tagged=tagged)
        omitted = error.error_count() - len(problems)
        if any(p.startswith("invalid JSON") for _, p in problems):
            raise ApiProblem(
                400, "INVALID_JSON", "the body is not valid JSON", problems, omitted
            ) from None
        raise ApiProblem(
            422, "INVALID_INPUT", problem_summary(problems, omitted), problems, omitted
        ) from None


async def _score(state: ServingState, records: list[dict], request_id: str, started: float):
    if len(records) > THREADED_SCORING_RECORDS:
        return await asyncio.to_thread(state.score, records, request_id, started)
    return state.score(records, request_id, started)


def _add_scoring_routes(app: FastAPI, state: ServingState) -> None:
    responses = {
        s: {"model": ErrorResponse, "description": d} for s, d in ERROR_DESCRIPTIONS.items()
    }

    @app.post(
        "/invocations",
        response_model=InvocationsResponse,
        responses=responses,
        openapi_extra=request_body("InvocationsRequest"),
        tags=["scoring"],
    )
    async def invocations(request: Request) -> Response:
        """MLflow's scoring protocol: ``dataframe_split``, ``dataframe_records`` or ``inputs``."""
        started = time.perf_counter()
        _json_body(request)
        body = await request.body()
        payload = await _validated(state, state.schemas.invocations, body, tagged=True)
        try:
            records, _ = invocation_records(payload, state.schemas)
        except FieldProblem as problem:
            raise ApiProblem(
                422,
                "INVALID_INPUT",
                problem_summary(problem.problems, problem.omitted),
                problem.problems,
                problem.omitted,
            ) from None
        request_id = uuid.uuid4().hex
        scored = await _score(state, records, request_id, started)
        body = {
            "predictions": [
                {"probability": s.probability, "label": s.label, "model_version": s.version}
                for s in scored
            ]
        }
        return Response(orjson.dumps(body), media_type=JSON, headers={"x-request-id": request_id})

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        responses=responses,
        openapi_extra=request_body("PredictRequest"),
        tags=["scoring"],
    )
    async def predict(request: Request) -> Response:
        """Typed records → probability, label, model version and variant per record."""
        started = time.perf_counter()
        _json_body(request)
        records = (await _validated(state, state.schemas.predict, await request.body())).records
        request_id = uuid.uuid4().hex
        scored = await _score(state, records, request_id, started)
        predictions = [
            {
                "page_id": r["page_id"],
                "probability": s.probability,
                "label": s.label,
                "model_version": s.version,
                "variant": s.variant,
            }
            for r, s in zip(records, scored, strict=True)
        ]
        body = {"request_id": request_id, "predictions": predictions}
        return Response(orjson.dumps(body), media_type=JSON, headers={"x-request-id": request_id})


def _add_status_routes(app: FastAPI, state: ServingState) -> None:
    @app.get(
        "/health", response_model=HealthResponse, response_model_exclude_none=True, tags=["status"]
    )
    async def health() -> dict:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get(
        "/ready",
        response_model=HealthResponse,
        tags=["status"],
        responses={503: {"model": HealthResponse, "description": "No champion loaded"}},
    )
    async def ready() -> Response:
        """Readiness: a champion is loaded; ``detail`` says what is wrong, if anything."""
        snapshot = state.watcher.snapshot
        body = {
            "status": "ready" if snapshot.champion else "not ready",
            "champion_version": snapshot.champion and snapshot.champion.version,
            "challenger_version": snapshot.challenger and snapshot.challenger.version,
            "detail": ready_detail(state.watcher.detail, state.features),
        }
        return Response(orjson.dumps(body), 200 if snapshot.champion else 503, media_type=JSON)

    @app.get("/version", response_model=VersionResponse, tags=["status"])
    async def version() -> dict:
        """Model name and versions serving, A/B and shadow settings, software versions."""
        snapshot = state.watcher.snapshot
        return {
            "model_name": state.watcher.source.name,
            "champion_version": snapshot.champion and snapshot.champion.version,
            "challenger_version": snapshot.challenger and snapshot.challenger.version,
            "ab_challenger_share": state.settings.ab_challenger_share,
            "shadow": state.settings.shadow,
            "package_version": _package_version(),
            "mlflow_version": metadata.version("mlflow"),
        }

    @app.get(
        "/metrics",
        tags=["status"],
        response_class=Response,
        responses={
            200: {
                "content": {"text/plain": {"schema": {"type": "string"}}},
                "description": "Prometheus text format",
            }
        },
    )
    async def metrics() -> Response:
        """Prometheus metrics."""
        return Response(state.metrics.exposition(), media_type="text/plain; version=0.0.4")


def _package_version() -> str:
    try:
        return metadata.version("marvel-mlops")
    except metadata.PackageNotFoundError:
        return "unknown"
