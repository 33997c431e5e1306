"""Prometheus metrics of one server instance (its own registry, so tests can run several)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from marvel_mlops.serving.inference_log import LogStats
from marvel_mlops.serving.models import ModelSnapshot

disable_created_metrics()  # the *_created series only add noise to every scrape
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServingMetrics:
    """Requests, errors, latency, predictions by label and variant, model and log state."""

    def __init__(
        self,
        snapshot: Callable[[], ModelSnapshot],
        log_stats: Callable[[], tuple[LogStats, int] | None],
        watch_state: Callable[[], dict[str, bool]] = dict,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "marvel_serving_requests",
            "HTTP requests by endpoint, method and status code",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "marvel_serving_errors",
            "Requests answered with an error, by endpoint and error code",
            ["endpoint", "error_code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "marvel_serving_request_latency_seconds",
            "Time from request start to response end",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "marvel_serving_predictions",
            "Scored records by label, variant and whether the answer was served (not shadow)",
            ["label", "variant", "served"],
            registry=self.registry,
        )
        self.shadow_dropped = Counter(
            "marvel_serving_shadow_dropped",
            "Records not shadow-scored because the shadow queue was full",
            registry=self.registry,
        )
        self.registry.register(_StateCollector(snapshot, log_stats, watch_state))

    def count_predictions(self, labels: list[int], variant: str, served: bool) -> None:
        """Adds one request's labels (one increment per label value, not per record)."""
        alive = sum(labels)
        flag = "true" if served else "false"
        if alive:
            self.predictions.labels("1", variant, flag).inc(alive)
        if len(labels) - alive:
            self.predictions.labels("0", variant, flag).inc(len(labels) - alive)

    def exposition(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Model versions and inference-log counters, read at scrape time."""

    def __init__(self, snapshot, log_stats, watch_state) -> None:
        self._snapshot = snapshot
        self._log_stats = log_stats
        self._watch_state = watch_state

    def collect(self) -> Iterator:
        info = GaugeMetricFamily(
            "marvel_serving_model_info",
            "Model version serving per variant",
            labels=["variant", "version"],
        )
        snapshot = self._snapshot()
        for variant, model in (
            ("champion", snapshot.champion),
            ("challenger", snapshot.challenger),
        ):
            if model is not None:
                info.add_metric([variant, model.version], 1.0)
        yield info
        docs = {
            "champion_alias_missing": "1 while the champion alias is gone and the last good "
            "version keeps serving",
            "model_source_failing": "1 while the last registry / model refresh failed",
        }
        for name, value in self._watch_state().items():
            yield GaugeMetricFamily(
                f"marvel_serving_{name}", docs.get(name, name), value=float(value)
            )
        state = self._log_stats()
        if state is None:
            return
        stats, queued = state
        yield GaugeMetricFamily(
            "marvel_serving_inference_log_queued", "Rows waiting to be written", value=queued
        )
        for name, value, doc in (
            ("submitted", stats.submitted, "Rows handed to the inference-log writer"),
            ("written", stats.written, "Rows written to inference_log"),
            ("commits", stats.commits, "Delta commits of inference_log"),
            ("dropped", stats.dropped, "Rows dropped because the bounded queue was full"),
            ("write_errors", stats.write_errors, "Failed Delta appends (rows are retried)"),
            ("compactions", stats.compactions, "Compactions + checkpoints of inference_log"),
            ("compaction_errors", stats.compaction_errors, "Failed compactions (retried later)"),
        ):
            yield CounterMetricFamily(f"marvel_serving_inference_log_{name}", doc, value=value)
