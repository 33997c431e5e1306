"""Prometheus metrics as a Kedro dataset: a textfile for node_exporter, and a Pushgateway push."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset
from prometheus_client import CollectorRegistry, push_to_gateway, write_to_textfile

logger = logging.getLogger(__name__)


class PrometheusMetricsDataset(AbstractDataset):
    """Saves a ``CollectorRegistry``: written atomically to ``filepath`` (node_exporter's
    textfile collector) and, when ``pushgateway_url`` is set, pushed to that Pushgateway
    under ``job`` (replacing the job's previous metrics). An unreachable Pushgateway is a
    warning, not a failed run: the textfile is still written. Loads the textfile.

    Example (``conf/local/catalog.yml``)::

        monitoring_prometheus_metrics:
          type: marvel_mlops.datasets.PrometheusMetricsDataset
          filepath: data/08_reporting/monitoring/marvel_mlops_monitoring.prom
          pushgateway_url: http://127.0.0.1:9091
    """

    def __init__(
        self,
        *,
        filepath: str,
        pushgateway_url: str | None = None,
        job: str = "marvel_mlops_monitoring",
        timeout_s: float = 10.0,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = Path(filepath)
        self._url, self._job, self._timeout = pushgateway_url, job, timeout_s
        self.metadata = metadata

    def save(self, data: CollectorRegistry) -> None:
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(self._filepath), data)
        if not self._url:
            return
        try:
            push_to_gateway(self._url, job=self._job, registry=data, timeout=self._timeout)
        except OSError as error:
            logger.warning("Pushgateway %s unreachable: %s", self._url, error)
            return
        logger.info("Pushed monitoring metrics to %s (job %s)", self._url, self._job)

    def load(self) -> str:
        return self._filepath.read_text()

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "pushgateway_url": self._url, "job": self._job}
