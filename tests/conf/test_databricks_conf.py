"""conf/databricks: the same dataset names on Unity Catalog, one value per target."""

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
    assert params["training"]["model_name"] == expected_model
    assert params["deployment"]["model_name"] == expected_model
    assert entries["champion_model"]["model_name"] == expected_model
    assert params["training"]["search"]["budget"] > 0  # base keys survive the override
    assert params["deployment"]["endpoint"]["enabled"] is True
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
