"""Model serving with feature lookup: records that carry only ``page_id`` are completed from
the online store before scoring, and ``GET /v1/features/{page_id}`` serves a character's
features by key (what Databricks Feature Serving answers).

The server's view of the online store is ``features_store.online.OnlineFeatures`` (every
published key in memory, reloaded when a newer publication appears). A record that carries
none of the model's attributes needs the store; one that carries some is scored as sent.
An unknown key is a 404 naming it. Completed records carry the store's version, which the
inference log records (``feature_source``, ``feature_version``).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.responses import Response

from marvel_mlops.data.schema import FEATURE_COLUMNS
from marvel_mlops.features_store.online import OnlineFeatures, UnknownKeys
from marvel_mlops.serving.errors import JSON, ApiProblem
from marvel_mlops.serving.inference_log import FEATURE_VERSION_KEY
from marvel_mlops.serving.settings import ServingSettings

MAX_NAMED = 20
"""Unknown keys listed in one answer; the rest are only counted."""


def online_features(settings: ServingSettings) -> OnlineFeatures | None:
    """The online store's features by key, when the settings name a feature store."""
    if not settings.feature_store_repo:
        return None
    return OnlineFeatures(settings.feature_store_repo, settings.feature_tables)


def complete_records(features: OnlineFeatures, records: list[dict]) -> list[dict]:
    """Records completed from the online store; an unknown key is a 404 naming it."""
    try:
        return features.enrich(records, FEATURE_COLUMNS, FEATURE_VERSION_KEY)
    except UnknownKeys as unknown:
        keys = unknown.keys
        problems = tuple(
            ("page_id", f"unknown key {k!r}: no features in the online store ({features.version})")
            for k in keys[:MAX_NAMED]
        )
        more = f" (and {len(keys) - 1} more)" if len(keys) > 1 else ""
        message = f"page_id {keys[0]!r} is not in the online store{more}"
        omitted = max(0, len(keys) - MAX_NAMED)
        raise ApiProblem(404, "UNKNOWN_KEY", message, problems, omitted) from None


def ready_detail(watcher_detail: str | None, features: OnlineFeatures | None) -> str | None:
    """The model watcher's detail and, when it is behind, the online store's."""
    parts = [watcher_detail, features.stale() if features is not None else None]
    return "; ".join(p for p in parts if p) or None


def add_feature_routes(app: FastAPI, features: OnlineFeatures | None) -> None:
    """``GET /v1/features/{page_id}``: a character's published features by key."""

    @app.get("/v1/features/{page_id}", tags=["features"])
    async def feature_serving(page_id: str) -> Response:
        """Feature serving: a character's published features by key (as Databricks
        Feature Serving returns them), with the feature tables' versions."""
        if features is None:
            raise ApiProblem(404, "NO_FEATURE_STORE", "this server has no feature store")
        row = features.get(page_id)
        if row is None:
            problem = (("page_id", f"unknown key {page_id!r}"),)
            raise ApiProblem(
                404, "UNKNOWN_KEY", f"page_id {page_id!r} is not in the online store", problem
            )
        body: dict[str, Any] = {
            "page_id": page_id,
            "features": row,
            "feature_version": features.version,
        }
        return Response(orjson.dumps(body), media_type=JSON)
