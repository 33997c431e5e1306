"""What one server holds while it runs: the models, the inference log, shadow scoring and
its metrics; and how a request's records are routed, scored and logged."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from marvel_mlops.serving import routing
from marvel_mlops.serving.errors import ApiProblem
from marvel_mlops.serving.feature_lookup import complete_records, online_features
from marvel_mlops.serving.inference_log import (
    InferenceLogWriter,
    delta_appender,
    delta_maintainer,
    log_row,
)
from marvel_mlops.serving.models import ModelSnapshot, ModelSource, ModelWatcher
from marvel_mlops.serving.schemas import RequestSchemas, request_schemas
from marvel_mlops.serving.settings import ServingSettings
from marvel_mlops.serving.telemetry import ServingMetrics

logger = logging.getLogger(__name__)


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
        self.metrics = ServingMetrics(
            lambda: self.watcher.snapshot, self._log_state, self._watch_state
        )
        self._shadow = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shadow")
        self._shadow_pending = 0
        self._shadow_lock = threading.Lock()
        self.big_bodies = asyncio.Semaphore(1)
        self.features = online_features(settings)

    def _watch_state(self) -> dict[str, bool]:
        return {
            "champion_alias_missing": self.watcher.champion_alias_missing,
            "model_source_failing": self.watcher.last_error is not None,
        }

    def _log_state(self):
        return None if self.log is None else (self.log.stats, self.log.queued)

    def start(self) -> None:
        """Starts the threads; the models load in the watcher's (the port opens at once)."""
        self.watcher.start()
        if self.log is not None:
            self.log.start()
        if self.features is not None:
            self.features.start(self.settings.poll_interval_s)

    def stop(self) -> None:
        """Graceful stop: shadow work done, then every queued log row written."""
        self.watcher.stop()
        if self.features is not None:
            self.features.stop()
        self._shadow.shutdown(wait=True)
        if self.log is not None:
            self.log.close()

    def score(self, records: list[dict], request_id: str, started: float) -> list[Scored]:
        """Routes records to champion / challenger, scores, logs, counts."""
        snapshot = self.watcher.snapshot
        if snapshot.champion is None:
            raise ApiProblem(503, "NOT_READY", "no champion model is loaded yet")
        if self.features is not None:
            records = complete_records(self.features, records)
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
            log_row(
                request_id,
                i,
                now,
                r,
                s.probability,
                s.label,
                s.version,
                s.variant,
                served,
                latency_ms,
            )
            for i, (r, s) in enumerate(zip(records, scored, strict=True))
            if s is not None
        )

    def _submit_shadow(self, request_id, records, indexes, snapshot) -> None:
        limit = self.settings.inference_log.queue_max_records
        with self._shadow_lock:
            if self._shadow_pending + len(indexes) > limit:
                self.metrics.shadow_dropped.inc(len(indexes))
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
                    log_row(
                        request_id,
                        i,
                        now,
                        r,
                        p,
                        lab,
                        model.version,
                        "challenger",
                        False,
                        latency_ms,
                    )
                    for i, r, p, lab in zip(indexes, records, probabilities, labels, strict=True)
                )
        except Exception:  # shadow scoring must never affect serving
            logger.exception("Shadow scoring failed for request %s", request_id)
        finally:
            with self._shadow_lock:
                self._shadow_pending -= len(records)
