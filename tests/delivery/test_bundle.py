"""The Databricks Asset Bundle, checked offline (no Databricks CLI here).

Every job goes through the ``databricks-bundles`` typed models (which refuse unknown
fields), every wheel task must run a pipeline of the Kedro registry with the conf archive
the bundle uploads, task graphs and condition task values must be consistent, and every
``${...}`` reference must resolve for every target.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from databricks.bundles.jobs import Job
from kedro.io.core import DatasetError

from marvel_mlops.datasets.task_value import TaskValueDataset

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TARGETS = ("dev", "acc", "prd")
ROOT_KEYS = {
    "bundle",
    "include",
    "variables",
    "artifacts",
    "sync",
    "targets",
    "resources",
    "workspace",
    "permissions",
    "presets",
    "run_as",
    "experimental",
}
TARGET_KEYS = {
    "mode",
    "default",
    "workspace",
    "variables",
    "run_as",
    "resources",
    "presets",
    "permissions",
    "artifacts",
    "sync",
    "git",
    "bundle",
}
# References the Databricks CLI fills in itself (bundle.git.* come from the checkout).
BUILTIN_REFERENCES = {
    "bundle.name",
    "bundle.target",
    "bundle.git.commit",
    "bundle.git.branch",
    "workspace.file_path",
    "workspace.root_path",
    "workspace.artifact_path",
    "workspace.current_user.userName",
}
REFERENCE = re.compile(r"\$\{([A-Za-z0-9_.\[\]-]+)\}")
TASK_VALUE = re.compile(r"^\{\{tasks\.([A-Za-z0-9_-]+)\.values\.([A-Za-z0-9_]+)\}\}$")


# --- loading --------------------------------------------------------------------------


def load_bundle() -> dict[str, Any]:
    """databricks.yml with every included resources file merged in (as the CLI does)."""
    root = yaml.safe_load((PROJECT_ROOT / "databricks.yml").read_text())
    merged = copy.deepcopy(root)
    for pattern in root.get("include", []):
        files = sorted(PROJECT_ROOT.glob(pattern))
        assert files, f"include pattern {pattern!r} matches no file"
        for path in files:
            for kind, items in yaml.safe_load(path.read_text())["resources"].items():
                section = merged.setdefault("resources", {}).setdefault(kind, {})
                duplicates = set(section) & set(items)
                assert not duplicates, f"{path.name} redefines {duplicates}"
                section.update(items)
    return merged


BUNDLE = load_bundle()
JOBS: dict[str, dict[str, Any]] = BUNDLE["resources"]["jobs"]


def wheel_tasks() -> list[tuple[str, dict[str, Any]]]:
    return [
        (job_key, task)
        for job_key, job in JOBS.items()
        for task in job["tasks"]
        if "python_wheel_task" in task
    ]


def parse_args(parameters: list[str]) -> dict[str, str]:
    """``--name=value`` / ``--name value`` pairs of a wheel task (Kedro run options)."""
    args, index = {}, 0
    while index < len(parameters):
        item = parameters[index]
        assert item.startswith("--"), f"unexpected positional parameter {item!r}"
        if "=" in item:
            name, value = item[2:].split("=", 1)
        else:
            name, value = item[2:], parameters[index + 1]
            index += 1
        assert name not in args, f"option --{name} given twice"
        args[name] = value
        index += 1
    return args


def target_variables(target: str, supplied: dict[str, str] | None = None) -> dict[str, Any]:
    """Variable values for a target: defaults, then target overrides, then --var values."""
    values = {name: spec.get("default") for name, spec in BUNDLE.get("variables", {}).items()}
    values.update(BUNDLE["targets"][target].get("variables") or {})
    values.update(supplied or {})
    return values


def resolve(value: Any, variables: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """Replaces ``${var.x}`` (recursively) and checks every other reference is known."""
    if isinstance(value, dict):
        return {k: resolve(v, variables, seen) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, variables, seen) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        path = match.group(1)
        if path.startswith("var."):
            name = path[4:]
            assert name not in seen, f"variable cycle through {name}"
            assert name in variables, f"${{{path}}} is not a declared variable"
            assert variables[name] is not None, f"variable {name} has no value"
            return str(resolve(variables[name], variables, (*seen, name)))
        if path.startswith("resources.jobs."):
            job, _, field = path[len("resources.jobs.") :].partition(".")
            assert job in JOBS and field == "id", f"${{{path}}} names no job id of this bundle"
            return match.group(0)
        assert path in BUILTIN_REFERENCES, f"${{{path}}} is not a reference the CLI resolves"
        return match.group(0)

    return REFERENCE.sub(substitute, value)


def cd_supplied_variables() -> dict[str, set[str]]:
    """Which bundle variables the CD workflow sets per target (BUNDLE_VAR_* or --var)."""
    workflow = yaml.safe_load((PROJECT_ROOT / ".github/workflows/cd.yml").read_text())
    supplied: dict[str, set[str]] = {}
    for job in workflow["jobs"].values():
        env = {**(workflow.get("env") or {}), **(job.get("env") or {})}
        names = {key[len("BUNDLE_VAR_") :] for key in env if key.startswith("BUNDLE_VAR_")}
        text = yaml.safe_dump(job)
        names |= set(re.findall(r"--var[= ]\"?([A-Za-z0-9_]+)=", text))
        for target in re.findall(r"(?:-t|--target)[= ]([a-z]+)", text):
            supplied.setdefault(target, set()).update(names)
    return supplied


# --- typed models ---------------------------------------------------------------------


@pytest.mark.parametrize("job_key", sorted(JOBS))
def test_every_job_loads_through_the_typed_models(job_key):
    job = Job.from_dict(copy.deepcopy(JOBS[job_key]))
    assert job.tasks, f"job {job_key} has no task"
    assert job.max_concurrent_runs == 1


def test_typed_models_refuse_unknown_fields():
    """The guarantee the other tests rely on: a misspelt key fails, at any depth."""
    job = copy.deepcopy(JOBS["marvel_training"])
    with pytest.raises(ValueError, match="Unexpected field 'max_concurent_runs' for class Job"):
        Job.from_dict({**job, "max_concurent_runs": 1})
    job["tasks"][0]["python_wheel_task"]["entrypoint"] = "marvel-mlops"
    with pytest.raises(ValueError, match="Unexpected field 'entrypoint' for class PythonWheel"):
        Job.from_dict(job)


def test_only_known_bundle_and_target_keys():
    assert set(BUNDLE) <= ROOT_KEYS, set(BUNDLE) - ROOT_KEYS
    assert set(BUNDLE["targets"]) == set(TARGETS)
    for name, target in BUNDLE["targets"].items():
        assert set(target) <= TARGET_KEYS, f"target {name}: {set(target) - TARGET_KEYS}"


# --- wheel tasks against the Kedro project --------------------------------------------


@pytest.fixture(scope="module")
def registered_pipelines() -> set[str]:
    from kedro.framework.project import pipelines
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    return set(pipelines)


@pytest.mark.parametrize(
    ("job_key", "task_key"), [(j, t["task_key"]) for j, t in wheel_tasks()], ids=str
)
def test_wheel_task_runs_a_registered_pipeline_of_the_packaged_project(
    job_key, task_key, registered_pipelines
):
    task = next(t for t in JOBS[job_key]["tasks"] if t["task_key"] == task_key)
    wheel = task["python_wheel_task"]
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    package = pyproject["tool"]["kedro"]["package_name"]
    assert wheel["package_name"] == package
    assert wheel["entry_point"] in pyproject["project"]["scripts"]

    args = parse_args(wheel["parameters"])
    assert set(args) <= {"env", "pipelines", "conf-source", "params"}, args
    assert args["env"] == "databricks" and (PROJECT_ROOT / "conf/databricks").is_dir()
    for name in args["pipelines"].split(","):
        assert name in registered_pipelines, f"{job_key}.{task_key}: no Kedro pipeline {name!r}"

    archive = f"conf-{package}.tar.gz"  # what `kedro package` writes to dist/
    assert args["conf-source"] == f"${{workspace.file_path}}/dist/{archive}"
    assert f"dist/{archive}" in BUNDLE["sync"]["include"]

    params = dict(pair.split("=", 1) for pair in args["params"].split(","))
    assert params == {
        "catalog": "${var.catalog}",
        "target": "${bundle.target}",  # endpoint and experiment names per target
        "job_run_id": "{{job.run_id}}",  # where task values are saved for publishing
    }
    catalog_conf = (PROJECT_ROOT / "conf/databricks/catalog.yml").read_text()
    assert "${runtime_params:catalog," in catalog_conf


def test_wheel_tasks_install_the_built_wheel_and_select_plain_logging():
    artifact = next(iter(BUNDLE["artifacts"].values()))
    assert "kedro package" in artifact["build"]
    assert artifact["files"] == [{"source": "dist/*.whl"}]
    for job_key, task in wheel_tasks():
        job = JOBS[job_key]
        environments = {e["environment_key"]: e["spec"] for e in job["environments"]}
        spec = environments[task["environment_key"]]
        assert spec["environment_version"] and "../dist/*.whl" in spec["dependencies"]
        assert (PROJECT_ROOT / "resources" / "../dist").resolve() == PROJECT_ROOT / "dist"
        env_vars = {
            e["environment_variables_key"]: e["spec"]["variables"]
            for e in job["environment_variables"]
        }[task["environment_variables_key"]]
        assert env_vars["KEDRO_DISABLE_TELEMETRY"] == "true"
        assert env_vars["MARVEL_GIT_COMMIT"] == "${bundle.git.commit}"
        assert env_vars["MARVEL_GIT_BRANCH"] == "${bundle.git.branch}"
        logging_file = env_vars["KEDRO_LOGGING_CONFIG"].replace("${workspace.file_path}/", "")
        logging_conf = yaml.safe_load((PROJECT_ROOT / logging_file).read_text())
        handler_classes = {h["class"] for h in logging_conf["handlers"].values()}
        assert handler_classes == {"logging.StreamHandler"}, "jobs log plain text, not rich"


# --- task graphs ----------------------------------------------------------------------


def test_the_jobs_install_the_pinned_packages_the_offline_tests_run():
    locked = {
        package["name"]: package["version"]
        for package in tomllib.loads((PROJECT_ROOT / "uv.lock").read_text())["package"]
    }
    pins = [
        dependency
        for job in JOBS.values()
        for environment in job.get("environments", [])
        for dependency in environment["spec"]["dependencies"]
        if "==" in dependency
    ]
    assert "databricks-feature-engineering==0.18.2" in pins
    for pin in pins:
        name, version = pin.split("==")
        assert locked.get(name) == version, f"{pin}: uv.lock has {locked.get(name)}"


def upstream(tasks: dict[str, dict[str, Any]], key: str) -> set[str]:
    found, stack = set(), [key]
    while stack:
        for dep in tasks[stack.pop()].get("depends_on", []):
            if dep["task_key"] not in found:
                found.add(dep["task_key"])
                stack.append(dep["task_key"])
    return found


@pytest.mark.parametrize("job_key", sorted(JOBS))
def test_task_graph_is_acyclic_and_references_exist(job_key):
    job = JOBS[job_key]
    tasks = {t["task_key"]: t for t in job["tasks"]}
    assert len(tasks) == len(job["tasks"]), "duplicate task_key"
    environments = {e["environment_key"] for e in job.get("environments", [])}
    for key, task in tasks.items():
        for dep in task.get("depends_on", []):
            assert dep["task_key"] in tasks, f"{key} depends on unknown {dep['task_key']}"
            if "outcome" in dep:
                assert "condition_task" in tasks[dep["task_key"]], "outcome needs a condition"
        assert key not in upstream(tasks, key), f"cycle through {key}"
        if "python_wheel_task" in task:
            assert task["environment_key"] in environments
        if "condition_task" in task:
            match = TASK_VALUE.match(task["condition_task"]["left"])
            assert match, task["condition_task"]["left"]
            assert match.group(1) in upstream(tasks, key), "condition reads a non-upstream task"
            assert task["condition_task"]["right"] in ("true", "false")


def chain(job_key: str) -> list[str]:
    """The tasks in dependency order (each job here is a single chain)."""
    tasks = {t["task_key"]: t for t in JOBS[job_key]["tasks"]}
    order = sorted(tasks, key=lambda k: len(upstream(tasks, k)))
    for before, after in zip(order, order[1:], strict=False):
        assert [d["task_key"] for d in tasks[after]["depends_on"]] == [before]
    return order


def test_training_job_deploys_only_after_a_promoting_evaluation():
    assert chain("marvel_training") == [
        "data_processing",
        "feature_engineering",
        "training",
        "evaluation",
        "publish_promote",
        "promote",
        "deployment",
    ]
    tasks = {t["task_key"]: t for t in JOBS["marvel_training"]["tasks"]}
    assert tasks["promote"]["condition_task"] == {
        "left": "{{tasks.publish_promote.values.promote}}",
        "op": "EQUAL_TO",
        "right": "true",
    }
    assert tasks["deployment"]["depends_on"] == [{"task_key": "promote", "outcome": "true"}]


def test_monitoring_job_is_scheduled_and_its_trigger_starts_training():
    job = JOBS["marvel_monitoring"]
    assert chain("marvel_monitoring") == [
        "endpoint_ingestion",
        "monitoring",
        "publish_retrain",
        "retrain_needed",
        "retrain",
    ]
    assert job["schedule"]["quartz_cron_expression"] == "${var.monitoring_cron}"
    retrain = job["tasks"][-1]
    assert retrain["run_job_task"]["job_id"] == "${resources.jobs.marvel_training.id}"
    assert retrain["depends_on"] == [{"task_key": "retrain_needed", "outcome": "true"}]


def databricks_conf(**runtime_params: str) -> Any:
    from kedro.config import OmegaConfigLoader

    from marvel_mlops.settings import CONFIG_LOADER_ARGS

    return OmegaConfigLoader(
        str(PROJECT_ROOT / "conf"),
        env="databricks",
        runtime_params=runtime_params,
        **CONFIG_LOADER_ARGS,
    )


def test_every_condition_reads_a_task_value_its_upstream_pipeline_saves(registered_pipelines):
    """Wheel task saves (TaskValueDataset) → notebook task publishes → condition reads.

    The notebook task's ``path`` must be exactly where the upstream wheel task's pipeline
    saves that key under conf/databricks, for the same catalog and job run.
    """
    from kedro.framework.project import pipelines

    entries = databricks_conf(catalog="CATALOG", job_run_id="{{job.run_id}}")["catalog"]
    saved = {
        entry["key"]: (name, entry["filepath"])
        for name, entry in entries.items()
        if isinstance(entry, dict) and entry.get("type", "").endswith("TaskValueDataset")
    }
    checked = 0
    for job in JOBS.values():
        tasks = {t["task_key"]: t for t in job["tasks"]}
        for task in tasks.values():
            if "condition_task" not in task:
                continue
            source, key = TASK_VALUE.match(task["condition_task"]["left"]).groups()
            notebook = tasks[source]["notebook_task"]
            assert notebook["notebook_path"] == "./publish_task_value.py"
            assert (PROJECT_ROOT / "resources/publish_task_value.py").exists()
            assert notebook["base_parameters"]["key"] == key
            dataset, path = saved[key]
            assert notebook["base_parameters"]["path"].replace("${var.catalog}", "CATALOG") == path
            [wheel_task] = [tasks[d["task_key"]] for d in tasks[source]["depends_on"]]
            pipeline = parse_args(wheel_task["python_wheel_task"]["parameters"])["pipelines"]
            assert dataset in pipelines[pipeline].outputs(), f"{pipeline} does not save {key}"
            checked += 1
    assert checked == 2


# --- targets and variables ------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_every_reference_resolves_for_every_target(target):
    supplied = dict.fromkeys(cd_supplied_variables().get(target, set()), "from-cd")
    variables = target_variables(target, supplied)
    resolved = resolve(
        {"resources": BUNDLE["resources"], "target": BUNDLE["targets"][target]}, variables
    )
    assert "${var." not in yaml.safe_dump(resolved)
    for job in resolved["resources"]["jobs"].values():
        Job.from_dict(copy.deepcopy(job))  # still valid with concrete values
        for task in job["tasks"]:
            if "python_wheel_task" in task:
                params = parse_args(task["python_wheel_task"]["parameters"])["params"]
                assert params == (
                    f"catalog={variables['catalog']},target=${{bundle.target}},"
                    "job_run_id={{job.run_id}}"
                )
    run_as = resolved["target"].get("run_as")
    if target == "prd":
        assert run_as and run_as["service_principal_name"], "prd runs as a service principal"
    else:
        assert run_as is None


def test_targets_differ_in_catalog_and_mode():
    catalogs = {t: target_variables(t)["catalog"] for t in TARGETS}
    assert len(set(catalogs.values())) == len(TARGETS), catalogs
    modes = {t: BUNDLE["targets"][t]["mode"] for t in TARGETS}
    assert modes == {"dev": "development", "acc": "production", "prd": "production"}
    assert BUNDLE["targets"]["dev"].get("default") is True
    assert "service_principal_id" in cd_supplied_variables().get("prd", set())


@pytest.mark.parametrize("job_key", sorted(JOBS))
def test_runs_are_tagged_with_the_git_commit_and_branch(job_key):
    tags = JOBS[job_key]["tags"]
    assert tags["git_commit"] == "${bundle.git.commit}"
    assert tags["git_branch"] == "${bundle.git.branch}"


# --- serverless environment and CLI version ---------------------------------------------


def test_serverless_environment_has_what_the_code_uses():
    """Caching (monitoring persists its frame) and job environment variables need
    serverless environment version 5 or later; every job uses one chosen version."""
    version = int(BUNDLE["variables"]["serverless_environment_version"]["default"])
    code = (PROJECT_ROOT / "src/marvel_mlops/pipelines/monitoring/nodes.py").read_text()
    assert ".persist(" in code and version >= 5
    for job in JOBS.values():
        assert job.get("environment_variables"), "jobs rely on environment variables"
        for environment in job["environments"]:
            assert environment["spec"]["environment_version"] == (
                "${var.serverless_environment_version}"
            )


def test_cli_version_is_pinned_and_matches_the_workflows():
    from importlib.metadata import version

    pinned = BUNDLE["bundle"]["databricks_cli_version"]
    assert pinned == version("databricks-bundles"), "validated with the same models"
    for workflow in (".github/workflows/ci.yml", ".github/workflows/cd.yml"):
        uses = re.findall(r"databricks/setup-cli@(\S+)", (PROJECT_ROOT / workflow).read_text())
        assert uses and set(uses) == {f"v{pinned}"}, f"{workflow}: {uses}"


# --- task values ----------------------------------------------------------------------


class WorkspaceDbutils:
    """Stands in for a notebook's dbutils (no workspace here): widgets and task values."""

    def __init__(self, widgets: dict[str, str]) -> None:
        self.values: dict[str, Any] = {}
        self.widgets = type("Widgets", (), {"get": staticmethod(widgets.__getitem__)})()
        self.jobs = type("Jobs", (), {"taskValues": self})()

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


def run_publishing_notebook(key: str, path: Path) -> WorkspaceDbutils:
    dbutils = WorkspaceDbutils({"key": key, "path": str(path)})
    source = (PROJECT_ROOT / "resources/publish_task_value.py").read_text()
    exec(compile(source, "publish_task_value.py", "exec"), {"dbutils": dbutils})  # noqa: S102
    return dbutils


def test_a_saved_task_value_is_published_by_the_notebook(tmp_path):
    path = tmp_path / "task_values/123/promote.json"
    TaskValueDataset(key="promote", filepath=str(path)).save(True)
    assert run_publishing_notebook("promote", path).values == {"promote": True}


def test_publishing_fails_loudly_when_nothing_was_saved(tmp_path):
    with pytest.raises(FileNotFoundError):
        run_publishing_notebook("promote", tmp_path / "missing.json")
    TaskValueDataset(key="retrain", filepath=str(tmp_path / "v.json")).save(False)
    with pytest.raises(ValueError, match="holds task value 'retrain', expected 'promote'"):
        run_publishing_notebook("promote", tmp_path / "v.json")


def test_task_values_are_checked_before_they_are_saved(tmp_path):
    dataset = TaskValueDataset(key="promote", filepath=str(tmp_path / "p.json"))
    with pytest.raises(DatasetError, match="not JSON-serialisable"):
        dataset.save(object())
    with pytest.raises(DatasetError, match="'promote' is .* bytes"):
        dataset.save("x" * 50_000)
    with pytest.raises(ValueError, match="key must be"):
        TaskValueDataset(key="", filepath=str(tmp_path / "p.json"))
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(DatasetError, match="Cannot publish task value 'promote'"):
        TaskValueDataset(key="promote", filepath=str(blocked / "p.json")).save(True)
