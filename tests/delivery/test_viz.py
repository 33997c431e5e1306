"""kedro-viz: ``kedro viz build`` on a project whose tables exist, opened in headless
Chromium from a local HTTP server; every pipeline (a collapsed modular pipeline per stage)
and every layer must be rendered. The screenshot is kept in ``test-artifacts/`` (CI uploads it).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Debian's chromium (installed by project.sh); MARVEL_CHROMIUM points elsewhere (e.g. the
# Google Chrome of GitHub's Ubuntu runners, where "chromium" is a snap).
CHROMIUM = Path(os.environ.get("MARVEL_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
PIPELINES = ("data_processing", "training", "evaluation", "deployment", "monitoring")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1000",
)
NODE_TEXT = re.compile(r'<text class="pipeline-node__text"[^>]*>([^<]*)</text>')
LAYER_NAME = re.compile(r'data-id="layer-label--([^"]+)"')
LIST_NODES = """
import json
from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project
bootstrap_project(".")
print(json.dumps({n: sorted(x.name for x in p.nodes) for n, p in pipelines.items()}))
"""

pytestmark = pytest.mark.slow


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}\n{result.stdout[-4000:]}\n"
        f"{result.stderr[-4000:]}"
    )
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    """A project copy after a small data_processing run, with its ``kedro viz build``."""
    root = tmp_path_factory.mktemp("viz") / "project"
    root.mkdir()
    for name in ("conf", "src", "pyproject.toml", "uv.lock"):
        source = PROJECT_ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "local")
            shutil.copytree(source, root / name, ignore=ignore)
        else:
            shutil.copy(source, root / name)
    (root / "conf/local").mkdir()
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "PYSPARK_PYTHON": sys.executable,
        "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    }
    kedro = [sys.executable, "-m", "kedro"]
    run([*kedro, "run", "--pipelines=data_processing", "--params=raw_rows=3000"], root, env)
    assert (root / "data/lakehouse/train_set/_delta_log").is_dir()
    # kedro viz build reports its errors but exits 0: check its success message.
    output = run([*kedro, "viz", "build"], root, env)
    assert "Success! Kedro-Viz build files have been added" in output, output[-4000:]
    listed = subprocess.run(
        [sys.executable, "-c", LIST_NODES],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr[-4000:]
    nodes = json.loads(listed.stdout.splitlines()[-1])
    return root / "build", nodes


@pytest.fixture(scope="module")
def site_url(built) -> Iterator[str]:
    """The static site served as the README says (``marvel-mlops viz-serve``, which
    ``bash project.sh viz`` runs after the build), on a free port of 127.0.0.1."""
    command = [str(Path(sys.executable).parent / "marvel-mlops"), "viz-serve"]
    server = subprocess.Popen(
        [*command, "--dir", str(built[0]), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        first = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", first)
        assert url, f"viz-serve said {first!r}"
        yield url.group(0)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_readme_serves_the_static_site_instead_of_opening_it_from_disk():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "bash project.sh viz " in readme and "marvel-mlops viz-serve" in readme
    script = (PROJECT_ROOT / "project.sh").read_text()
    assert re.search(r"viz\) .*kedro_ viz build.*marvel-mlops viz-serve --dir build", script)


def declared_layers() -> set[str]:
    """Every ``metadata.kedro-viz.layer`` of the base catalog."""
    layers = set()
    for path in (PROJECT_ROOT / "conf/base").glob("catalog*.yml"):
        for entry in (yaml.safe_load(path.read_text()) or {}).values():
            if isinstance(entry, dict):
                layer = ((entry.get("metadata") or {}).get("kedro-viz") or {}).get("layer")
                layers |= {layer} if layer else set()
    return layers


def _shown_as(node: str) -> frozenset[str]:
    """How kedro-viz may label a node of the default view: its modular pipeline (raw or
    pretty name) when it has a namespace, else the node itself."""
    namespace, _, name = node.rpartition(".")
    label = namespace or name
    return frozenset({label, label.replace("_", " ").title()})


def chromium(url: str, profile: Path, *extra: str) -> str:
    assert CHROMIUM.exists(), "Debian's chromium is missing: the test set-up installs it"
    result = subprocess.run(
        [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_static_site_lists_every_pipeline(built):
    site, nodes = built
    assert set(PIPELINES) <= set(nodes), f"registry has {sorted(nodes)}"
    main = json.loads((site / "api/main").read_text())
    assert {p["id"] for p in main["pipelines"]} >= {*PIPELINES, "__default__"}
    for name in PIPELINES:
        assert (site / "api/pipelines" / name).is_file()
    declared = declared_layers()
    assert declared >= {"raw", "reporting"}
    # kedro-viz silently shows no layer at all when the layers' dependencies form a cycle.
    assert set(main["layers"]) == declared, (
        f"layers shown {main['layers']}, declared {sorted(declared)}: a dataset's layer "
        "makes the layer order cyclic (or transcoded entries disagree)"
    )


def test_browser_renders_every_pipelines_nodes_and_layers(built, site_url, tmp_path):
    site, nodes = built
    dom = chromium(site_url, tmp_path / "profile", "--virtual-time-budget=30000", "--dump-dom")
    rendered = {html.unescape(name) for name in NODE_TEXT.findall(dom)}
    # Each stage is a namespace: the default view shows it as one collapsed modular pipeline.
    for pipeline in PIPELINES:
        shown = {_shown_as(node) for node in nodes[pipeline]}
        missing = {label for label in shown if not label & rendered}
        assert not missing, f"{pipeline}: not rendered: {sorted(map(sorted, missing))}"
    inner = {n for p in PIPELINES for n in nodes[p] if "." in n} & rendered
    assert not inner, f"the stages are not collapsed: {sorted(inner)}"
    main = json.loads((site / "api/main").read_text())
    assert set(LAYER_NAME.findall(dom)) == set(main["layers"])

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "kedro-viz.png"
    screenshot.unlink(missing_ok=True)
    chromium(
        site_url,
        tmp_path / "profile-shot",
        "--virtual-time-budget=30000",
        "--hide-scrollbars",
        f"--screenshot={screenshot}",
    )
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000, "a blank page compresses to a few KB"
