"""The FastAPI application.

Hot path (``/invocations``, ``/v1/predict``): raw body → one pydantic-core pass (JSON
parsing and strict validation into plain dicts) → features in Python → LightGBM on a
NumPy matrix → orjson. No pandas, no per-request I/O: inference-log rows go to a bounded
queue, shadow scoring to a background thread.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError as PydanticValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from marvel_mlops.serving import routing
from marvel_mlops.serving.inference_log import (
    InferenceLogWriter,
    delta_appender,
    delta_maintainer,
    log_row,
)
from marvel_mlops.serving.metrics import ServingMetrics
from marvel_mlops.serving.models import ModelSnapshot, ModelSource, ModelWatcher, source_for
from marvel_mlops.serving.schemas import (
    ErrorResponse,
    FieldProblem,
    HealthResponse,
    InvocationsResponse,
    PredictResponse,
    RequestSchemas,
    VersionResponse,
    field_problems,
    invocation_records,
    request_schemas,
)
from marvel_mlops.serving.settings import ServingSettings

logger = logging.getLogger(__name__)

ENDPOINTS = ("/invocations", "/v1/predict", "/health", "/ready", "/version", "/metrics")
OPEN_ENDPOINTS = ("/health", "/ready")
"""Answer without a token (container and load-balancer probes)."""
JSON = "application/json"
CLIENT_CLOSED = 499
"""Status counted (never sent) when a client hangs up before its body was read (nginx's)."""
# Requests with more records than this are scored in a worker thread (LightGBM releases
# the GIL) so that a big batch does not stall single-record requests on the event loop.
THREADED_SCORING_RECORDS = 64
# Bodies larger than this are validated in a worker thread, one at a time, so that a
# flood of big bad bodies cannot keep the event loop (and /health) waiting.
THREADED_VALIDATION_BYTES = 64 * 1024


class ApiProblem(Exception):
    """An error answer: status, error code, message and the fields concerned."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        problems: tuple[tuple[str, str], ...] = (),
        omitted: int = 0,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.problems = status, code, message, problems
        self.omitted = omitted


def error_body(
    code: str, message: str, problems: tuple[tuple[str, str], ...] = (), omitted: int = 0
) -> bytes:
    """An ``ErrorResponse`` as JSON bytes (``more_errors`` only when some were left out)."""
    errors = [{"field": f, "problem": p} for f, p in problems]
    body = {"error_code": code, "message": message, "errors": errors}
    if omitted > 0:
        body["more_errors"] = omitted
    return orjson.dumps(body)


@dataclass
class Scored:
    """One record's answer."""

    probability: float
    label: int
    version: str
    variant: str


class ServingState:
    """The models, the inference log, shadow scoring and metrics of one server."""

    def __init__(
        self,
        settings: ServingSettings,
        source: ModelSource,
        log_append: Callable | None = None,
    ) -> None:
        self.settings = settings
        self.schemas: RequestSchemas = request_schemas(settings.max_records)
        self.watcher = ModelWatcher(source, settings.poll_interval_s, settings.challenger_wanted)
        log = settings.inference_log
        self.log: InferenceLogWriter | None = None
        if log.enabled:
            self.log = InferenceLogWriter(
                log_append or delta_appender(log.path),
                log.batch_size,
                log.flush_interval_s,
                log.queue_max_records,
                maintain=None if log_append else delta_maintainer(log.path),
                compact_every_commits=log.compact_every_commits,
                compact_interval_s=log.compact_interval_s,
            )
        self.metrics = ServingMetrics(lambda: self.watcher.snapshot, self._log_state,
                                      self._watch_state)  # fmt: skip
        self._shadow = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shadow")
        self._shadow_pending = 0
        self._shadow_lock = threading.Lock()
        self.shadow_dropped = 0
        self.big_bodies = asyncio.Semaphore(1)

    def _watch_state(self) -> dict[str, bool]:
        return {"champion_alias_missing": self.watcher.champion_alias_missing,
                "model_source_failing": self.watcher.last_error is not None}  # fmt: skip

    def _log_state(self):
        return None if self.log is None else (self.log.stats, self.log.queued)

    def start(self) -> None:
        """Starts the threads; the models load in the watcher's (the port opens at once)."""
        self.watcher.start()
        if self.log is not None:
            self.log.start()

    def stop(self) -> None:
        """Graceful stop: shadow work done, then every queued log row written."""
        self.watcher.stop()
        self._shadow.shutdown(wait=True)
        if self.log is not None:
            self.log.close()

    def score(self, records: list[dict], request_id: str, started: float) -> list[Scored]:
        """Routes records to champion / challenger, scores, logs, counts."""
        snapshot = self.watcher.snapshot
        if snapshot.champion is None:
            raise ApiProblem(503, "NOT_READY", "no champion model is loaded yet")
        groups = self._route(records, snapshot)
        out: list[Scored | None] = [None] * len(records)
        for variant, (model, indexes) in groups.items():
            chosen = records if len(indexes) == len(records) else [records[i] for i in indexes]
            probabilities, labels = model.score(chosen)
            for i, p, label in zip(indexes, probabilities, labels, strict=True):
                out[i] = Scored(p, label, model.version, variant)
            self.metrics.count_predictions(labels, variant, True)
        latency_ms = (time.perf_counter() - started) * 1000.0 / len(records)
        self._log(request_id, records, out, latency_ms, served=True)
        if self.settings.shadow and snapshot.challenger is not None and "champion" in groups:
            self._submit_shadow(request_id, records, groups["champion"][1], snapshot)
        return out  # type: ignore[return-value]

    def _route(self, records: list[dict], snapshot: ModelSnapshot) -> dict[str, tuple]:
        share = self.settings.ab_challenger_share if snapshot.challenger is not None else 0.0
        if share <= 0.0:
            return {"champion": (snapshot.champion, range(len(records)))}
        salt, groups = self.settings.ab_salt, {"champion": [], "challenger": []}
        for i, record in enumerate(records):
            groups[routing.variant_for(record.get("page_id"), salt, share)].append(i)
        models = {"champion": snapshot.champion, "challenger": snapshot.challenger}
        return {v: (models[v], idx) for v, idx in groups.items() if idx}

    def _log(self, request_id, records, scored, latency_ms, served) -> None:
        if self.log is None:
            return
        now = time.time()
        self.log.submit(
            log_row(request_id, i, now, r, s.probability, s.label, s.version, s.variant, served,
                    latency_ms)
            for i, (r, s) in enumerate(zip(records, scored, strict=True))
            if s is not None
        )  # fmt: skip

    def _submit_shadow(self, request_id, records, indexes, snapshot) -> None:
        limit = self.settings.inference_log.queue_max_records
        with self._shadow_lock:
            if self._shadow_pending + len(indexes) > limit:
                self.shadow_dropped += len(indexes)
                return
            self._shadow_pending += len(indexes)
        chosen = [records[i] for i in indexes]
        self._shadow.submit(self._score_shadow, request_id, chosen, list(indexes), snapshot)

    def _score_shadow(self, request_id, records, indexes, snapshot) -> None:
        try:
            started = time.perf_counter()
            model = snapshot.challenger
            probabilities, labels = model.score(records)
            latency_ms = (time.perf_counter() - started) * 1000.0 / len(records)
            self.metrics.count_predictions(labels, "challenger", False)
            if self.log is not None:
                now = time.time()
                self.log.submit(
                    log_row(request_id, i, now, r, p, lab, model.version, "challenger", False,
                            latency_ms)
                    for i, r, p, lab in zip(indexes, records, probabilities, labels, strict=True)
                )  # fmt: skip
        except Exception:  # shadow scoring must never affect serving
            logger.exception("Shadow scoring failed for request %s", request_id)
        finally:
            with self._shadow_lock:
                self._shadow_pending -= len(records)


class Guard:
    """Pure ASGI middleware: bearer token, body size limit, request metrics."""

    def __init__(self, app: Any, state: ServingState, token: str | None) -> None:
        self.app = app
        self.state = state
        self.token = token.encode() if token else None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        path = scope["path"]
        endpoint = path if path in ENDPOINTS else "other"
        status = [500]

        async def send_status(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self._guarded(scope, receive, send_status, path, endpoint)
        except ClientDisconnect:  # the client hung up mid-body: nobody got an error answer
            status[0] = CLIENT_CLOSED
            self.state.metrics.errors.labels(endpoint, "CLIENT_CLOSED_REQUEST").inc()
            logger.info("The client closed the connection before its body was read (%s)", path)
        finally:
            metrics = self.state.metrics
            metrics.requests.labels(endpoint, scope["method"], str(status[0])).inc()
            metrics.latency.labels(endpoint).observe(time.perf_counter() - started)

    async def _guarded(self, scope, receive, send, path, endpoint) -> None:
        if self.token is not None and path not in OPEN_ENDPOINTS and not self._authorised(scope):
            return await self._refuse(send, endpoint, 401, "UNAUTHORIZED",
                                      "a valid 'Authorization: Bearer <token>' header is required")  # fmt: skip
        limit = self.state.settings.max_body_bytes
        length = _content_length(scope)
        if length is not None and length > limit:
            return await self._refuse(send, endpoint, 413, "PAYLOAD_TOO_LARGE",
                                      f"the body has {length} bytes; the limit is {limit}")  # fmt: skip
        started = [False]

        async def send_started(message) -> None:
            started[0] = True
            await send(message)

        try:
            await self.app(scope, self._body_receive(receive, limit), send_started)
        except _TooLarge:
            if not started[0]:
                await self._refuse(send, endpoint, 413, "PAYLOAD_TOO_LARGE",
                                   f"the body exceeds the limit of {limit} bytes")  # fmt: skip
        except _SlowBody:
            if not started[0]:
                timeout = self.state.settings.body_timeout_s
                await self._refuse(send, endpoint, 408, "REQUEST_TIMEOUT",
                                   f"no part of the body came for {timeout:g} s")  # fmt: skip

    def _body_receive(self, receive, limit: int):
        """``receive`` with the body size limit and a deadline on each part of the body."""
        received, done, timeout = [0], [False], self.state.settings.body_timeout_s

        async def limited_receive():
            if done[0]:  # body complete: waiting for a disconnect is not limited
                return await receive()
            try:
                async with asyncio.timeout(timeout):
                    message = await receive()
            except TimeoutError:
                raise _SlowBody from None
            received[0] += len(message.get("body", b""))
            done[0] = not message.get("more_body", False)
            if received[0] > limit:
                raise _TooLarge
            return message

        return limited_receive

    def _authorised(self, scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(
                    credentials.strip(), self.token
                )
        return False

    async def _refuse(self, send, endpoint, status, code, message) -> None:
        self.state.metrics.errors.labels(endpoint, code).inc()
        headers = [(b"content-type", JSON.encode())]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        if status == 408:  # the rest of the body may still come: do not read it as a request
            headers.append((b"connection", b"close"))
        body = error_body(code, message)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class _SlowBody(Exception):
    pass


def _content_length(scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


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
    _add_docs_routes(app)
    _add_error_handlers(app, state)
    _add_scoring_routes(app, state)
    _add_status_routes(app, state)
    app.openapi = lambda: _openapi(app, state, token is not None)  # type: ignore[method-assign]
    app.add_middleware(Guard, state=state, token=token)
    return app


DOCS_ASSETS = "/docs-assets"
"""Swagger UI and ReDoc files, served from the ``fastapi-offline`` package (no CDN)."""


def _add_docs_routes(app: FastAPI) -> None:
    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> Response:
        root = request.scope.get("root_path", "") + DOCS_ASSETS
        return get_swagger_ui_html(
            openapi_url=request.scope.get("root_path", "") + app.openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/swagger-ui.css",
            swagger_favicon_url=f"{root}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> Response:
        root = request.scope.get("root_path", "") + DOCS_ASSETS
        return get_redoc_html(
            openapi_url=request.scope.get("root_path", "") + app.openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}/redoc.standalone.js",
            redoc_favicon_url=f"{root}/favicon.png",
            with_google_fonts=False,
        )


def _freeze_gc() -> None:
    gc.collect()
    gc.freeze()


def _add_error_handlers(app: FastAPI, state: ServingState) -> None:
    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, error: ApiProblem) -> Response:
        endpoint = request.url.path if request.url.path in ENDPOINTS else "other"
        state.metrics.errors.labels(endpoint, error.code).inc()
        body = error_body(error.code, error.message, error.problems, error.omitted)
        return Response(body, error.status, media_type=JSON)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(error.status_code, "BAD_REQUEST")
        return Response(error_body(code, str(error.detail)), error.status_code, media_type=JSON,
                        headers=getattr(error, "headers", None))  # fmt: skip

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> Response:
        logger.exception("Unexpected error on %s", request.url.path)
        return JSONResponse({"error_code": "INTERNAL_ERROR", "message": "internal error",
                             "errors": []}, status_code=500)  # fmt: skip


def _json_body(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    mime, _, params = content_type.partition(";")
    charset = params.strip().lower()
    if mime.strip().lower() != JSON or (charset and charset not in ("charset=utf-8",)):
        raise ApiProblem(415, "UNSUPPORTED_MEDIA_TYPE",
                         f"send JSON: 'Content-Type: {JSON}' (got {content_type!r})",
                         (("content-type", "must be application/json (UTF-8)"),))  # fmt: skip


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
            raise ApiProblem(400, "INVALID_JSON", "the body is not valid JSON", problems,
                             omitted) from None  # fmt: skip
        raise ApiProblem(422, "INVALID_INPUT", _summary(problems, omitted), problems,
                         omitted) from None  # fmt: skip


def _summary(problems: tuple[tuple[str, str], ...], omitted: int = 0) -> str:
    first = "; ".join(f"{f}: {p}" for f, p in problems[:3])
    rest = len(problems) - 3 + omitted if len(problems) > 3 else omitted
    return first + (f" (and {rest} more)" if rest > 0 else "")


async def _score(state: ServingState, records: list[dict], request_id: str, started: float):
    if len(records) > THREADED_SCORING_RECORDS:
        return await asyncio.to_thread(state.score, records, request_id, started)
    return state.score(records, request_id, started)


ERRORS = {
    400: "The body is not valid JSON",
    413: "The body is larger than max_body_bytes",
    415: "The body is not application/json",
    422: "The body does not match the schema (the fields and problems are listed)",
    503: "No champion model is loaded yet",
}


def _add_scoring_routes(app: FastAPI, state: ServingState) -> None:
    responses = {s: {"model": ErrorResponse, "description": d} for s, d in ERRORS.items()}

    @app.post("/invocations", response_model=InvocationsResponse, responses=responses,
              openapi_extra=_request_body("InvocationsRequest"), tags=["scoring"])  # fmt: skip
    async def invocations(request: Request) -> Response:
        """MLflow's scoring protocol: ``dataframe_split``, ``dataframe_records`` or ``inputs``."""
        started = time.perf_counter()
        _json_body(request)
        body = await request.body()
        payload = await _validated(state, state.schemas.invocations, body, tagged=True)
        try:
            records, _ = invocation_records(payload, state.schemas)
        except FieldProblem as problem:
            raise ApiProblem(422, "INVALID_INPUT", _summary(problem.problems, problem.omitted),
                             problem.problems, problem.omitted) from None  # fmt: skip
        request_id = uuid.uuid4().hex
        scored = await _score(state, records, request_id, started)
        body = {"predictions": [{"probability": s.probability, "label": s.label,
                                 "model_version": s.version} for s in scored]}  # fmt: skip
        return Response(orjson.dumps(body), media_type=JSON, headers={"x-request-id": request_id})

    @app.post("/v1/predict", response_model=PredictResponse, responses=responses,
              openapi_extra=_request_body("PredictRequest"), tags=["scoring"])  # fmt: skip
    async def predict(request: Request) -> Response:
        """Typed records → probability, label, model version and variant per record."""
        started = time.perf_counter()
        _json_body(request)
        records = (await _validated(state, state.schemas.predict, await request.body())).records
        request_id = uuid.uuid4().hex
        scored = await _score(state, records, request_id, started)
        predictions = [
            {"page_id": r["page_id"], "probability": s.probability, "label": s.label,
             "model_version": s.version, "variant": s.variant}
            for r, s in zip(records, scored, strict=True)
        ]  # fmt: skip
        body = {"request_id": request_id, "predictions": predictions}
        return Response(orjson.dumps(body), media_type=JSON, headers={"x-request-id": request_id})


def _add_status_routes(app: FastAPI, state: ServingState) -> None:
    @app.get("/health", response_model=HealthResponse, response_model_exclude_none=True,
             tags=["status"])  # fmt: skip
    async def health() -> dict:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready", response_model=HealthResponse, tags=["status"],
             responses={503: {"model": HealthResponse, "description": "No champion loaded"}})  # fmt: skip
    async def ready() -> Response:
        """Readiness: a champion is loaded; ``detail`` says what is wrong, if anything."""
        snapshot = state.watcher.snapshot
        body = {
            "status": "ready" if snapshot.champion else "not ready",
            "champion_version": snapshot.champion and snapshot.champion.version,
            "challenger_version": snapshot.challenger and snapshot.challenger.version,
            "detail": state.watcher.detail,
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

    @app.get("/metrics", tags=["status"], response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                              "description": "Prometheus text format"}})  # fmt: skip
    async def metrics() -> Response:
        """Prometheus metrics."""
        return Response(state.metrics.exposition(), media_type="text/plain; version=0.0.4")


def _request_body(name: str) -> dict:
    schema = {"$ref": f"#/components/schemas/{name}"}
    return {"requestBody": {"required": True, "content": {JSON: {"schema": schema}}}}


def _openapi(app: FastAPI, state: ServingState, auth: bool) -> dict:
    """FastAPI's schema plus the request bodies, which the handlers parse themselves."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)  # fmt: skip
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, adapter in (("PredictRequest", state.schemas.predict),
                          ("InvocationsRequest", state.schemas.invocations)):  # fmt: skip
        body = adapter.json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components[name] = body
    if auth:
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        unauthorised = {"description": "Missing or wrong bearer token",
                        "content": {JSON: {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}  # fmt: skip
        for path, operations in schema["paths"].items():
            if path in OPEN_ENDPOINTS:
                continue
            for operation in operations.values():
                operation["security"] = [{"bearer": []}]
                operation.setdefault("responses", {})["401"] = unauthorised
    app.openapi_schema = schema
    return schema


def _package_version() -> str:
    try:
        return metadata.version("marvel-mlops")
    except metadata.PackageNotFoundError:
        return "unknown"
