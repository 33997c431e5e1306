"""The serving container, built from the Dockerfile by ``bash project.sh image`` and run with
podman on 127.0.0.1: both ways of getting the model (from the registry by alias, baked in),
scoring, the inference log on a mounted volume, SIGTERM, and a round trip through a local
``docker-registry``.

Slow (one build; warm when its layers are cached). Where podman, runc or docker-registry
cannot be installed (``bash project.sh test`` tries apt), the tests skip and say why.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.factories import register, train_model

pytestmark = pytest.mark.slow

NAME = "marvel_image_test_model"
CONTAINERS_CONF = '[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\n' \
    '[containers]\ndefault_ulimits = []\n'  # fmt: skip


def _tool(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> str:
    """podman, usable here (runc + cgroupfs), or a skip that names what is missing."""
    missing = [t for t in ("podman", "runc", "docker-registry", "debootstrap") if not _tool(t)]
    if missing:
        pytest.skip(f"container test needs {', '.join(missing)} (apt could not install them)")
    if not os.environ.get("CONTAINERS_CONF"):
        conf = tmp_path_factory.mktemp("containers") / "containers.conf"
        conf.write_text(CONTAINERS_CONF)
        os.environ["CONTAINERS_CONF"] = str(conf)
    probe = subprocess.run([_tool("podman"), "info"], check=False, capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"podman cannot run here: {probe.stderr.strip()[-300:]}")
    return _tool("podman")


def run(*args: str, check: bool = True, timeout: float = 600, **kwargs) -> str:
    """Runs a command; its stdout (stripped), or a failure showing stderr."""
    done = subprocess.run(
        args, check=False, capture_output=True, text=True, timeout=timeout, **kwargs
    )
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(args[:4])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"content-type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@dataclass(frozen=True)
class Registry:
    root: Path
    uri: str
    versions: tuple[str, str]


@pytest.fixture(scope="module")
def model_registry(tmp_path_factory, small_characters) -> Iterator[Registry]:
    """A SQLite MLflow registry with two versions (champion = v1), readable by the container."""
    import mlflow

    from marvel_mlops.adapters import registry

    root = tmp_path_factory.mktemp("image_registry")
    uri = f"sqlite:///{root}/mlflow.db"
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment(experiment_id=mlflow.create_experiment(
        "image", artifact_location=str(root / "artifacts")))  # fmt: skip
    train = small_characters[0]
    v1 = register(train_model(train), NAME, train)
    small = {"n_estimators": 20, "learning_rate": 0.1, "num_leaves": 7}
    v2 = register(train_model(train, seed=3, model_params=small), NAME, train)
    registry.set_alias(NAME, registry.CHAMPION, v1)
    mlflow.end_run()
    for path in [root, *root.rglob("*")]:  # the server runs as uid 10001
        path.chmod(0o777 if path.is_dir() else 0o666)
    yield Registry(root, uri, (v1, v2))
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


@dataclass(frozen=True)
class Images:
    serving: str
    baked: str
    seconds: dict[str, float]


@pytest.fixture(scope="module")
def images(podman, model_registry) -> Iterator[Images]:
    """Both images, built by ``bash project.sh image`` (the baked one from the test registry)."""
    suffix = uuid.uuid4().hex[:8]
    serving, baked = f"localhost/marvel-serving:test-{suffix}", f"localhost/marvel-serving:baked-{suffix}"  # fmt: skip
    env = {**os.environ, "MLFLOW_TRACKING_URI": model_registry.uri,
           "MLFLOW_REGISTRY_URI": model_registry.uri}  # fmt: skip
    seconds = {}
    for tag, extra in ((serving, []), (baked, ["--bake", f"models:/{NAME}@champion"])):
        started = time.monotonic()
        out = run("bash", str(PROJECT_ROOT / "project.sh"), "image", "--tag", tag, *extra,
                  env=env, cwd=PROJECT_ROOT, timeout=1500)  # fmt: skip
        seconds[tag] = round(time.monotonic() - started, 1)
        assert out.splitlines()[-1] == tag
    print(f"image build seconds: {seconds}")
    ids = [json.loads(run(podman, "image", "inspect", t))[0]["Id"] for t in (serving, baked)]
    yield Images(serving, baked, seconds)
    # by id and forced: a pushed and pulled-back image has more names than its tag, and
    # each run's two images are over a gigabyte
    run(podman, "rmi", "--force", *ids, check=False)


@dataclass
class Container:
    id: str
    url: str
    started: float
    ready_after_s: float = 0.0


def start(podman: str, image: str, log_dir: Path, *args: str, env: dict | None = None,
          mounts: tuple[Path, ...] = ()) -> Container:  # fmt: skip
    """``podman run -d`` on a free port of 127.0.0.1, then waits for /ready (up to 180 s)."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_dir.chmod(0o777)
    options = ["--network", "host", "--health-interval", "disable", "-v", f"{log_dir}:/data",
               "-e", f"MARVEL_PORT={port}"]  # fmt: skip
    for mount in mounts:
        options += ["-v", f"{mount}:{mount}"]
    for key, value in (env or {}).items():
        options += ["-e", f"{key}={value}"]
    started = time.monotonic()
    cid = run(podman, "run", "-d", *options, image, "--inference-log-path", "/data/inference_log",
              *args)  # fmt: skip
    container = Container(cid, f"http://127.0.0.1:{port}", started)
    while time.monotonic() - started < 180:
        try:
            if http("GET", container.url + "/ready")[0] == 200:
                container.ready_after_s = round(time.monotonic() - started, 2)
                return container
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if run(podman, "inspect", "-f", "{{.State.Running}}", cid) != "true":
            break
        time.sleep(0.25)
    logs = run(podman, "logs", cid, check=False)
    run(podman, "rm", "-f", cid, check=False)
    pytest.fail(f"container never became ready:\n{logs[-3000:]}")


def stop(podman: str, container: Container) -> tuple[int, str]:
    """SIGTERM, wait for the exit; returns the exit code and the container's log."""
    run(podman, "kill", "--signal", "TERM", container.id)
    code = int(run(podman, "wait", container.id, timeout=90))
    logs = run(podman, "logs", container.id, check=False)
    run(podman, "rm", "-f", container.id, check=False)
    return code, logs


def json_records(frame, n: int, start: int = 0) -> list[dict]:
    """JSON-ready records (page_id and the model's inputs; NaN → None)."""
    from marvel_mlops.model.features import INPUT_COLUMNS

    columns = ["page_id", *INPUT_COLUMNS]
    part = frame.iloc[start : start + n][columns]
    return json.loads(part.to_json(orient="records"))


def expected(version: str, records: list[dict]):
    """What the registered pyfunc itself answers."""
    import mlflow
    import pandas as pd

    from marvel_mlops.model.features import INPUT_COLUMNS

    frame = pd.DataFrame(records)[list(INPUT_COLUMNS)].astype(
        {"height_m": "float64", "weight_kg": "float64"})  # fmt: skip
    frame = frame.astype({c: object for c in frame.columns if c not in ("height_m", "weight_kg")})
    return mlflow.pyfunc.load_model(f"models:/{NAME}/{version}").predict(frame)


def read_log(path: Path):
    from deltalake import DeltaTable

    return DeltaTable(str(path)).to_pandas()


def test_image_is_traceable_slim_and_non_root(podman, images, model_registry):
    image = json.loads(run(podman, "image", "inspect", images.baked))[0]
    config, healthcheck = (
        image["Config"],
        image.get("Healthcheck") or image["Config"]["Healthcheck"],
    )
    labels = config["Labels"]
    lock = hashlib.sha256((PROJECT_ROOT / "uv.lock").read_bytes()).hexdigest()
    assert labels["org.opencontainers.image.revision"] == run("git", "rev-parse", "HEAD",
                                                              cwd=PROJECT_ROOT)  # fmt: skip
    assert labels["io.marvel-mlops.uv-lock-sha256"] == lock
    assert labels["io.marvel-mlops.model-version"] == model_registry.versions[0]
    assert labels["io.marvel-mlops.model-source"] == "baked"
    serving = json.loads(run(podman, "image", "inspect", images.serving))[0]["Config"]
    assert serving["Labels"]["io.marvel-mlops.model-source"] == "registry"
    assert "io.marvel-mlops.model-version" not in serving["Labels"]
    assert config["User"] == "10001:10001" and "/ready" in " ".join(healthcheck["Test"])
    probe = ("import importlib.util as u, importlib.metadata as m, marvel_mlops.lineage as l;"
             "print(u.find_spec('pyspark'), u.find_spec('pytest'), u.find_spec('ruff'),"
             " m.version('mlflow'), l.lock_digest('/nonexistent'))")  # fmt: skip
    out = run(podman, "run", "--rm", "--network", "host", "--health-interval", "disable",
              "--entrypoint", "python", images.serving, "-c", probe)  # fmt: skip
    assert out.splitlines()[-1] == f"None None None 3.17.2 {lock}"


def test_registry_mode_scores_follows_promotion_logs_and_stops_cleanly(
    podman, images, model_registry, small_characters, tmp_path
):
    from marvel_mlops.adapters import registry

    v1, v2 = model_registry.versions
    env = {
        "MLFLOW_TRACKING_URI": model_registry.uri,
        "MARVEL_MODEL_URI": f"models:/{NAME}@champion",
    }
    container = start(podman, images.serving, tmp_path / "logs", "--poll-interval", "0.5",
                      env=env, mounts=(model_registry.root,))  # fmt: skip
    print(f"registry mode: ready after {container.ready_after_s} s")
    try:
        assert run(podman, "healthcheck", "run", container.id, check=False) in ("", "healthy")
        records = json_records(small_characters[1], 20)
        status, body = http("POST", container.url + "/v1/predict", {"records": records})
        assert status == 200, body
        want = expected(v1, records)
        got = [p["probability"] for p in body["predictions"]]
        assert got == pytest.approx(list(want["probability"]), abs=1e-9)
        assert {p["model_version"] for p in body["predictions"]} == {v1}
        inputs = [{k: v for k, v in r.items() if k != "page_id"} for r in records[:5]]
        status, body = http("POST", container.url + "/invocations", {"dataframe_records": inputs})
        assert status == 200 and len(body["predictions"]) == 5, body
        assert [p["label"] for p in body["predictions"]] == list(want["label"][:5])
        registry.set_alias(NAME, registry.CHAMPION, v2)  # promotion is followed
        deadline = time.monotonic() + 60
        while http("GET", container.url + "/ready")[1]["champion_version"] != v2:
            assert time.monotonic() < deadline, "the container did not follow the alias"
            time.sleep(0.25)
        burst = json_records(small_characters[1], 300, start=20)
        for i in range(0, 300, 3):  # sent just before SIGTERM: must all reach the log
            status, body = http(
                "POST", container.url + "/v1/predict", {"records": burst[i : i + 3]}
            )
            assert status == 200 and body["predictions"][0]["model_version"] == v2
    finally:
        registry.set_alias(NAME, registry.CHAMPION, v1)
        code, logs = stop(podman, container)
    assert code == 0, logs[-2000:]
    log = read_log(tmp_path / "logs/inference_log")
    assert len(log) == 20 + 5 + 300 and log["request_id"].nunique() == 2 + 100
    assert sorted(log["model_version"].unique()) == sorted({v1, v2})
    assert set(log["page_id"].dropna()) >= {r["page_id"] for r in records + burst}


def test_baked_mode_serves_without_a_registry(podman, images, model_registry, small_characters, tmp_path):  # fmt: skip
    v1 = model_registry.versions[0]
    container = start(podman, images.baked, tmp_path / "logs")  # no registry mounted or named
    print(f"baked mode: ready after {container.ready_after_s} s")
    try:
        status, ready = http("GET", container.url + "/ready")
        assert ready["champion_version"] == v1
        records = json_records(small_characters[1], 10)
        status, body = http("POST", container.url + "/v1/predict", {"records": records})
        assert status == 200, body
        assert [p["probability"] for p in body["predictions"]] == pytest.approx(
            list(expected(v1, records)["probability"]), abs=1e-9)  # fmt: skip
        assert {p["model_version"] for p in body["predictions"]} == {v1}
    finally:
        code, logs = stop(podman, container)
    assert code == 0, logs[-2000:]
    assert len(read_log(tmp_path / "logs/inference_log")) == 10


def test_push_to_a_local_registry_and_pull_back_by_digest(podman, images, tmp_path):
    port = free_port()
    storage = tmp_path / "storage"
    config = tmp_path / "config.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {storage}\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n")  # fmt: skip
    server = subprocess.Popen([_tool("docker-registry"), "serve", str(config)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    remote = f"127.0.0.1:{port}/marvel-serving"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if http("GET", f"http://127.0.0.1:{port}/v2/")[0] == 200:
                    break
            except (urllib.error.URLError, OSError):
                assert time.monotonic() < deadline and server.poll() is None, "registry down"
                time.sleep(0.2)
        digest_file = tmp_path / "digest"
        run(podman, "push", "--tls-verify=false", "--digestfile", str(digest_file),
            images.baked, f"{remote}:test")  # fmt: skip
        digest = digest_file.read_text().strip()
        assert digest.startswith("sha256:")
        pulled = f"{remote}@{digest}"
        run(podman, "pull", "--tls-verify=false", pulled)
        try:
            local = json.loads(run(podman, "image", "inspect", images.baked))[0]
            back = json.loads(run(podman, "image", "inspect", pulled))[0]
            assert (
                back["Id"] == local["Id"] and back["Config"]["Labels"] == local["Config"]["Labels"]
            )
            assert digest in back["RepoDigests"][0] or any(digest in d for d in back["RepoDigests"])
        finally:
            run(podman, "untag", images.baked, f"{remote}:test", check=False)
            run(podman, "rmi", pulled, check=False)
    finally:
        server.terminate()
        server.wait(timeout=30)
