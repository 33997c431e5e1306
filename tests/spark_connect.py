"""A local Spark Connect server for tests and benchmarks (the jar ships in the pyspark wheel).

Databricks serverless compute is Spark Connect: running the Spark-facing work through a
local server makes classic-only APIs (``sparkContext``, RDDs, JVM access) fail here first.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


class ConnectServerError(RuntimeError):
    """The server exited or did not open its port; the message holds its log's tail."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_connect_server(
    conf: dict[str, str], log: Path, timeout_s: float = 120
) -> tuple[subprocess.Popen, str]:
    """Starts ``local[2]`` Spark Connect on a free 127.0.0.1 port; returns it and its URL."""
    import pyspark

    home = Path(pyspark.__file__).parent
    port = _free_port()
    settings = {
        **conf,
        "spark.master": "local[2]",
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
    }
    command = [str(home / "bin/spark-submit"), "--class", CONNECT_SERVER_CLASS]
    for key, value in settings.items():
        command += ["--conf", f"{key}={value}"]
    env = {**os.environ, "SPARK_HOME": str(home), "PYSPARK_PYTHON": sys.executable}
    env.pop("SPARK_REMOTE", None)
    server = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ConnectServerError(f"Spark Connect server exited: {log.read_text()[-3000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server, f"sc://127.0.0.1:{port}"
        time.sleep(0.5)
    server.kill()
    raise ConnectServerError(f"no Spark Connect port {port}: {log.read_text()[-3000:]}")


def stop(server: subprocess.Popen) -> None:
    """Stops the server (SIGTERM, then SIGKILL after 30 s)."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
