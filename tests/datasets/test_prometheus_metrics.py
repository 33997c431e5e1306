"""PrometheusMetricsDataset against a real Pushgateway (Debian's prometheus-pushgateway,
started on 127.0.0.1), scraped back; and the textfile for node_exporter."""

import os
import shutil
import socket
import subprocess
import time
import urllib.request

import pandas as pd
import pytest

from marvel_mlops.datasets import PrometheusMetricsDataset
from marvel_mlops.pipelines.monitoring.nodes import export_prometheus

PUSHGATEWAY = os.environ.get("MARVEL_PUSHGATEWAY", "/usr/bin/prometheus-pushgateway")
START = pd.Timestamp("2024-05-01 10:00", tz="UTC")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        return response.read().decode()


@pytest.fixture
def pushgateway(tmp_path):
    if not shutil.which(PUSHGATEWAY):
        pytest.fail(f"{PUSHGATEWAY} missing: bash project.sh test installs prometheus-pushgateway")
    port = free_port()
    process = subprocess.Popen(
        [
            PUSHGATEWAY,
            f"--web.listen-address=127.0.0.1:{port}",
            f"--persistence.file={tmp_path / 'pushgateway.data'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            scrape(url)
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("the Pushgateway did not start")
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


def metrics(retrain: bool, psi: float):
    drift = pd.DataFrame(
        {
            "window_start": [START],
            "model_id": ["3"],
            "slice_value": ["champion"],
            "column_name": ["height_m"],
            "drift_type": ["baseline"],
            "population_stability_index": [psi],
            "js_distance": [None],
            "chi_squared_pvalue": [None],
            "ks_statistic": [0.1],
            "wasserstein_normalised": [0.2],
        }
    )
    empty = pd.DataFrame()
    return export_prometheus(drift, empty, empty, {"retrain": retrain})


def test_metrics_are_pushed_to_the_pushgateway_and_replace_the_last_push(pushgateway, tmp_path):
    dataset = PrometheusMetricsDataset(
        filepath=str(tmp_path / "m.prom"), pushgateway_url=pushgateway, job="marvel_test"
    )
    dataset.save(metrics(retrain=True, psi=0.31))
    scraped = scrape(pushgateway)
    assert 'marvel_mlops_monitoring_retraining_needed{instance="",job="marvel_test"} 1' in scraped
    assert 'column="height_m"' in scraped and "0.31" in scraped
    dataset.save(metrics(retrain=False, psi=0.05))
    scraped = scrape(pushgateway)
    assert 'marvel_mlops_monitoring_retraining_needed{instance="",job="marvel_test"} 0' in scraped
    assert "0.31" not in scraped
    assert "marvel_mlops_monitoring_retraining_needed 0.0" in dataset.load()


def test_an_unreachable_pushgateway_still_writes_the_textfile(tmp_path, caplog):
    url = f"http://127.0.0.1:{free_port()}"
    dataset = PrometheusMetricsDataset(filepath=str(tmp_path / "m.prom"), pushgateway_url=url)
    dataset.save(metrics(retrain=True, psi=0.3))
    assert "marvel_mlops_monitoring_retraining_needed 1.0" in dataset.load()
    assert f"Pushgateway {url} unreachable" in caplog.text
