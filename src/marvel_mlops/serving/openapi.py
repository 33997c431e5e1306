"""The OpenAPI document and the offline API docs (Swagger UI and ReDoc from local files)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response

from marvel_mlops.serving.errors import JSON, OPEN_ENDPOINTS
from marvel_mlops.serving.state import ServingState

DOCS_ASSETS = "/docs-assets"
"""Swagger UI and ReDoc files, served from the ``fastapi-offline`` package (no CDN)."""


def add_docs_routes(app: FastAPI) -> None:
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


def request_body(name: str) -> dict:
    schema = {"$ref": f"#/components/schemas/{name}"}
    return {"requestBody": {"required": True, "content": {JSON: {"schema": schema}}}}


def openapi_schema(app: FastAPI, state: ServingState, auth: bool) -> dict:
    """FastAPI's schema plus the request bodies, which the handlers parse themselves."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, adapter in (
        ("PredictRequest", state.schemas.predict),
        ("InvocationsRequest", state.schemas.invocations),
    ):
        body = adapter.json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components[name] = body
    if auth:
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        unauthorised = {
            "description": "Missing or wrong bearer token",
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
        }
        for path, operations in schema["paths"].items():
            if path in OPEN_ENDPOINTS:
                continue
            for operation in operations.values():
                operation["security"] = [{"bearer": []}]
                operation.setdefault("responses", {})["401"] = unauthorised
    app.openapi_schema = schema
    return schema
