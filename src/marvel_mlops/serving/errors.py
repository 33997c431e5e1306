"""Error answers of the server: one JSON shape (``ErrorResponse``) for every 4xx/5xx."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

ENDPOINTS = ("/invocations", "/v1/predict", "/health", "/ready", "/version", "/metrics")
OPEN_ENDPOINTS = ("/health", "/ready")
"""Answer without a token (container and load-balancer probes)."""
JSON = "application/json"
CLIENT_CLOSED = 499
"""Status counted (never sent) when a client hangs up before its body was read (nginx's)."""


def endpoint_label(path: str) -> str:
    """The path as a metrics label: a known endpoint, else ``other`` (bounded cardinality)."""
    return path if path in ENDPOINTS else "other"


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


def problem_summary(problems: tuple[tuple[str, str], ...], omitted: int = 0) -> str:
    first = "; ".join(f"{f}: {p}" for f, p in problems[:3])
    rest = len(problems) - 3 + omitted if len(problems) > 3 else omitted
    return first + (f" (and {rest} more)" if rest > 0 else "")


ERROR_DESCRIPTIONS = {
    400: "The body is not valid JSON",
    413: "The body is larger than max_body_bytes",
    415: "The body is not application/json",
    422: "The body does not match the schema (the fields and problems are listed)",
    503: "No champion model is loaded yet",
}


def add_error_handlers(app: FastAPI, errors: Any) -> None:
    """Every error answer in the ``ErrorResponse`` shape; ``errors`` counts them by code."""

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, error: ApiProblem) -> Response:
        errors.labels(endpoint_label(request.url.path), error.code).inc()
        body = error_body(error.code, error.message, error.problems, error.omitted)
        return Response(body, error.status, media_type=JSON)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(error.status_code, "BAD_REQUEST")
        return Response(
            error_body(code, str(error.detail)),
            error.status_code,
            media_type=JSON,
            headers=getattr(error, "headers", None),
        )

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> Response:
        logger.exception("Unexpected error on %s", request.url.path)
        return JSONResponse(
            {"error_code": "INTERNAL_ERROR", "message": "internal error", "errors": []},
            status_code=500,
        )
