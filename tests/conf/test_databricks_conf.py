"""conf/databricks: the same dataset names on Unity Catalog, one value per target."""

import re

import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog

from tests.conftest import PROJECT_ROOT


def loader(**runtime_params):
    from marvel_mlops.settings import CONFIG_LOADER_ARGS

    return OmegaConfigLoader(
        str(PROJECT_ROOT / "conf"),
        env="databricks",
        runtime_params=runtime_params,
        **CONFIG_LOADER_ARGS,
    )


def test_every_base_dataset_has_a_databricks_home():
    base = OmegaConfigLoader(
        str(PROJECT_ROOT / "conf"), env="local", base_env="base", default_run_env="local"
    )["catalog"]
    databricks = loader()["catalog"]
    local_only = [
        name
        for name, entry in base.items()
        if "filepath" in entry and "lakehouse" in str(entry["filepath"]) and name not in databricks
    ]
    assert local_only == []


@pytest.mark.parametrize("catalog", ["mlops_dev", "mlops_prd"])
def test_the_target_catalog_is_one_value(catalog):
    conf = loader(catalog=catalog) if catalog != "mlops_dev" else loader()
    entries, params = conf["catalog"], conf["parameters"]
    assert entries["{table}_set@spark"]["catalog"] == catalog
    train = DataCatalog.from_config(entries).get("train_set@spark")
    assert train._describe()["catalog"] == catalog and "train_set" in str(train._describe())
    assert entries["predictions"]["catalog"] == catalog
    expected_model = f"{catalog}.marvel_characters.marvel_character_model"
    for registry_entry in ("champion_model", "model_registration", "model_aliases"):
        assert entries[registry_entry]["model_name"] == expected_model
    assert params["evaluation"]["model_name"] == expected_model
    assert params["training"]["search"]["budget"] > 0  # base keys survive the override
    assert entries["serving_endpoint"]["type"].endswith("ModelServingEndpointDataset")
    assert params["deployment"]["endpoint"]["name"] == "marvel-character-model-dev"
    conf.config_patterns["mlflow"] = ["mlflow*", "mlflow*/**"]
    assert conf["mlflow"]["server"]["mlflow_registry_uri"] == "databricks-uc"


def test_databricks_catalog_builds_without_a_workspace():
    catalog = DataCatalog.from_config(loader(catalog="mlops_acc")["catalog"])
    for name in (
        "rejected_characters",
        "predictions",
        "deployments",
        "champion_model",
        "test_set_version",
        "promotion_decision",
        "raw_characters",
    ):
        assert "mlops_acc" in str(catalog.get(name)._describe())


# --- every dataset of every registered pipeline, as a Databricks job resolves it ---------

MLFLOW_DATASETS = (
    "kedro_mlflow.io.metrics.MlflowMetricsHistoryDataset",
    "kedro_mlflow.io.artifacts.MlflowArtifactDataset",
)
MODEL_DATASETS = (
    "marvel_mlops.datasets.RegisteredModelDataset",
    "marvel_mlops.datasets.ModelRegistrationDataset",
    "marvel_mlops.datasets.ModelAliasesDataset",
)
UC_NAME = re.compile(r"^mlops_acc\.marvel_characters\.[a-z_]+$")
SYSTEM_TABLES = ("system.serving.served_entities",)


@pytest.fixture(scope="module")
def databricks_datasets() -> dict[str, dict]:
    """Every dataset any registered pipeline reads or writes, resolved for a job run."""
    from kedro.framework.project import pipelines
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    conf = loader(catalog="mlops_acc", target="acc", job_run_id="42")["catalog"]
    catalog = DataCatalog.from_config(conf)
    names = {
        name
        for pipeline in pipelines.values()
        for name in pipeline.datasets()
        if not name.startswith("params:") and name != "parameters"
    }
    return {name: catalog.config_resolver.resolve_pattern(name) for name in sorted(names)}


def _home(name: str, config: dict) -> str:
    """Where a dataset lives under --env databricks, or a reason it is not allowed."""
    kind = config["type"]
    if kind.startswith("databricks.") or kind == "marvel_mlops.datasets.ManagedMergeTableDataset":
        assert config["catalog"] == "mlops_acc", f"{name}: catalog {config['catalog']}"
        return "unity catalog"
    plain = {
        "MemoryDataset": "memory",
        "kedro.io.MemoryDataset": "memory",
        "marvel_mlops.datasets.LocalOnlyDataset": "refused",
        "marvel_mlops.datasets.RunLineageDataset": "the running code",
        **dict.fromkeys(MLFLOW_DATASETS, "mlflow"),  # the workspace's tracking server
    }
    if kind in plain:
        return plain[kind]
    if kind in MODEL_DATASETS:
        assert UC_NAME.match(config["model_name"]), f"{name}: model {config['model_name']}"
        return "unity catalog model"
    assert "generator" not in config, f"{name} generates data under --env databricks"
    if "table" in config:
        table = config["table"]
        assert UC_NAME.match(table) or table in SYSTEM_TABLES, f"{name}: table {table}"
        return "unity catalog"
    filepath = config.get("filepath", "")
    assert filepath.startswith("/Volumes/mlops_acc/marvel_characters/"), f"{name}: {filepath}"
    return "volume"


def test_every_dataset_of_every_pipeline_has_a_databricks_home(databricks_datasets):
    homes = {name: _home(name, config) for name, config in databricks_datasets.items()}
    assert homes["raw_characters"] == "volume"
    assert homes["monitored_model"] == "unity catalog model"
    assert homes["train_set@spark"] == "unity catalog"
    for registry_entry in ("model_registration", "model_aliases", "model_alias_changes"):
        assert homes[registry_entry] == "unity catalog model"
    assert homes["serving_endpoint"] == "volume"  # its record; the endpoint itself via the SDK
    # Demo traffic is the only thing refused, and only its outputs.
    refused = {name for name, home in homes.items() if home == "refused"}
    assert refused == {"inference_log@demo", "ground_truth@demo"}


def test_demo_data_never_reaches_unity_catalog(databricks_datasets):
    from kedro.framework.project import pipelines
    from kedro.io.core import DatasetError

    catalog = DataCatalog.from_config(loader(catalog="mlops_acc")["catalog"])
    demo_outputs = {name for n in pipelines["demo_traffic"].nodes for name in n.outputs}
    assert demo_outputs == {"inference_log@demo", "ground_truth@demo"}
    for name in demo_outputs:
        with pytest.raises(DatasetError, match="local runs only"):
            catalog.save(name, object())
    monitoring = pipelines["monitoring"]
    written = {name for n in monitoring.nodes for name in n.outputs}
    assert not written & {"inference_log@spark", "ground_truth@spark"}
    assert "generate_demo_traffic" not in {n.name for n in monitoring.nodes}


def test_a_missing_raw_file_on_the_volume_is_an_error_naming_the_path():
    from kedro.io.core import DatasetError

    catalog = DataCatalog.from_config(loader(catalog="mlops_prd")["catalog"])
    expected = "/Volumes/mlops_prd/marvel_characters/raw/marvel_characters.csv"
    with pytest.raises(DatasetError, match=re.escape(f"Raw file '{expected}' does not exist")):
        catalog.load("raw_characters")


@pytest.mark.parametrize("target", ["dev", "acc", "prd"])
def test_workspace_global_names_differ_per_target(target):
    conf = loader(catalog=f"mlops_{target}", target=target)
    endpoint = conf["parameters"]["deployment"]["endpoint"]
    assert endpoint["name"] == f"marvel-character-model-{target}"
    assert endpoint["inference_table"][0] == f"mlops_{target}"
    conf.config_patterns["mlflow"] = ["mlflow*", "mlflow*/**"]
    assert conf["mlflow"]["tracking"]["experiment"]["name"] == f"/Shared/marvel-mlops-{target}"


def test_unity_catalog_writes_have_the_local_merge_semantics(databricks_datasets):
    """Every table merged locally is merged the same way on Unity Catalog (departed rows
    leave unless delete_missing is false; unchanged rows keep their timestamps), never
    through kedro-datasets' ``write_mode: upsert``."""
    from kedro.framework.project import pipelines

    base = DataCatalog.from_config(
        OmegaConfigLoader(
            str(PROJECT_ROOT / "conf"), env="local", base_env="base", default_run_env="local"
        )["catalog"]
    ).config_resolver
    written = {name for p in pipelines.values() for n in p.nodes for name in n.outputs}
    compared = 0
    for name in sorted(written):
        local = base.resolve_pattern(name).get("save_args") or {}
        remote = databricks_datasets.get(name, {})
        assert remote.get("write_mode") != "upsert", name
        if remote.get("type") == "marvel_mlops.datasets.FeatureTableDataset":
            # Feature Engineering's write_table(mode="merge"): upsert on the primary key
            assert local == {
                "mode": "merge",
                "keys": ["page_id", "event_timestamp"],
                "delete_missing": False,
            }, name
            continue
        if local.get("mode") == "merge" and not name.endswith("@demo"):
            assert remote["type"] == "marvel_mlops.datasets.ManagedMergeTableDataset", name
            assert remote["save_args"] == local, name
            compared += 1
    assert compared >= 8
