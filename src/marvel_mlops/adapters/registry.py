"""The MLflow model registry: log, register, alias, tag and load model versions.

Works against whatever registry kedro-mlflow configured: the local SQLite registry or
Databricks Unity Catalog (``databricks-uc``, three-level model names). Aliases only,
never stages: ``challenger``, ``champion``, ``previous-champion``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature

from marvel_mlops.registry_changes import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION  # noqa: F401

logger = logging.getLogger(__name__)

MODEL_REQUIREMENTS = (
    "mlflow",
    "lightgbm",
    "scikit-learn",
    "pandas",
    "numpy",
    "cloudpickle",
    "scipy",
)


@dataclass
class RegisteredModel:
    """A loaded model version."""

    name: str
    version: str
    alias: str | None
    run_id: str | None
    pyfunc: Any
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def python_model(self) -> Any:
        """The project's ``MarvelCharacterModel`` inside the pyfunc."""
        return self.pyfunc.unwrap_python_model()


def client() -> MlflowClient:
    """A client for the configured tracking server and registry."""
    return MlflowClient()


# What the registry answers for a missing model or alias (local stores / Unity Catalog).
NOT_FOUND_CODES = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND")


def version_for_alias(name: str, alias: str) -> str | None:
    """The version an alias points to; ``None`` only when the registry says the model or
    alias does not exist. Any other failure (an unreachable registry, ...) raises, so an
    outage is never mistaken for a missing alias."""
    try:
        return str(client().get_model_version_by_alias(name, alias).version)
    except MlflowException as error:
        if error.error_code in NOT_FOUND_CODES:
            return None
        raise


FEATURE_STORE_LOADER = "databricks.feature_store.mlflow_model"
"""The loader of a model logged by ``FeatureEngineeringClient.log_model``."""
FEATURE_STORE_RAW_MODEL = "data/feature_store/raw_model"
"""Where such a model keeps the model it wraps (the project's pyfunc)."""


def pyfunc_uri(model_uri: str) -> str:
    """``model_uri``, or for a model packaged with a feature spec (Databricks) the local copy
    of the pyfunc inside it: this project scores with features it has already looked up,
    while the package's wrapper would look them up again through Spark. The copy is kept
    per URI (a process that reloads the same version downloads it once)."""
    # Model.load reads only the MLmodel file (get_model_info would also ask the tracking
    # server for the logged model, which a model baked into an image has no access to)
    loader = mlflow.models.Model.load(model_uri).flavors["python_function"]
    if loader.get("loader_module") != FEATURE_STORE_LOADER:
        return model_uri
    digest = hashlib.sha256(model_uri.encode()).hexdigest()[:16]
    local = Path(tempfile.gettempdir()) / "marvel-feature-store-models" / digest
    if not (local / FEATURE_STORE_RAW_MODEL / "MLmodel").exists():
        local.mkdir(parents=True, exist_ok=True)
        mlflow.artifacts.download_artifacts(model_uri, dst_path=str(local))
    return str(local / FEATURE_STORE_RAW_MODEL)


def load_version(name: str, version: str, alias: str | None = None) -> RegisteredModel:
    """Loads a model version as pyfunc, telling it its version."""
    model_version = client().get_model_version(name, version)
    pyfunc = mlflow.pyfunc.load_model(
        pyfunc_uri(f"models:/{name}/{version}"), model_config={"model_version": str(version)}
    )
    tags = dict(model_version.tags or {})
    return RegisteredModel(name, str(version), alias, model_version.run_id, pyfunc, tags)


def load_alias(name: str, alias: str) -> RegisteredModel | None:
    """Loads the version behind an alias, or ``None`` when the alias does not exist."""
    version = version_for_alias(name, alias)
    return None if version is None else load_version(name, version, alias)


def set_alias(name: str, alias: str, version: str) -> None:
    """Points ``alias`` at ``version``."""
    client().set_registered_model_alias(name, alias, str(version))


def delete_alias(name: str, alias: str) -> None:
    """Removes an alias if it exists."""
    with contextlib.suppress(MlflowException):
        client().delete_registered_model_alias(name, alias)


def tag_version(name: str, version: str, tags: dict[str, Any]) -> None:
    """Sets tags on a model version (values as strings)."""
    for key, value in tags.items():
        client().set_model_version_tag(name, str(version), key, str(value))


def model_tags(name: str) -> dict[str, str]:
    """The tags of the registered model; empty when it is not registered yet."""
    try:
        return dict(client().get_registered_model(name).tags)
    except MlflowException as error:
        if error.error_code in NOT_FOUND_CODES:
            return {}
        raise


def tag_model(name: str, tags: dict[str, Any]) -> None:
    """Sets tags on the registered model (values as strings)."""
    for key, value in tags.items():
        client().set_registered_model_tag(name, key, str(value))


def version_tags(name: str, version: str) -> dict[str, str]:
    """The tags of a model version."""
    return dict(client().get_model_version(name, str(version)).tags)


def _model_code() -> Path:
    """A minimal copy of the package (``marvel_mlops.model``) to ship with the model."""
    package = Path(__file__).resolve().parents[1]
    target = Path(tempfile.mkdtemp(prefix="marvel_model_code_")) / "marvel_mlops"
    shutil.copytree(
        package / "model", target / "model", ignore=shutil.ignore_patterns("__pycache__")
    )
    # The package's own __init__ (its warning filters): MLflow re-imports the package
    # from this copy when it loads the model.
    shutil.copy(package / "__init__.py", target / "__init__.py")
    return target


def requirements() -> list[str]:
    """Pinned pip requirements of the logged model (the running versions)."""
    return [f"{name}=={metadata.version(name)}" for name in MODEL_REQUIREMENTS]


def log_and_register(
    python_model: Any,
    name: str,
    signature: ModelSignature,
    input_example: pd.DataFrame,
    tags: dict[str, str],
    training_set: Any = None,
) -> dict[str, Any]:
    """Logs the pyfunc in the active run, registers a new version and tags it.

    With a Databricks ``training_set`` (``adapters.feature_engineering.serving_training_set``)
    the pyfunc is logged through ``FeatureEngineeringClient.log_model``: the version carries
    the feature spec, so Model Serving looks the features up for key-only requests. Its
    input signature is then the one the package derives from the spec (keys required); its
    outputs are ``signature``'s.
    """
    code = _model_code()
    saved = {
        "code_paths": [str(code)],
        "pip_requirements": requirements(),
        # Declared so loaders may override it: MLflow only accepts known config keys.
        "model_config": {"model_version": "unregistered"},
    }
    try:
        if training_set is None:
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=python_model,
                signature=signature,
                input_example=input_example,
                registered_model_name=name,
                tags=tags,
                **saved,
            )
            version = str(info.registered_model_version)
        else:
            from marvel_mlops.adapters.feature_engineering import log_model_with_features

            info = log_model_with_features(training_set, python_model, saved, signature.outputs)
            if info.signature is None:  # the package only warns; Unity Catalog then refuses
                raise MlflowException(
                    f"{name}: log_model derived no signature from the feature spec "
                    "(see its warning above: e.g. event_timestamp's type differs from the "
                    "feature table's)"
                )
            version = str(mlflow.register_model(info.model_uri, name).version)
    finally:
        shutil.rmtree(code.parent, ignore_errors=True)
    tag_version(name, version, tags)
    logger.info("Registered %s version %s (run %s)", name, version, info.run_id)
    return {
        "model_name": name,
        "version": version,
        "run_id": info.run_id,
        "model_uri": info.model_uri,
        "model_id": getattr(info, "model_id", None),
    }


def delta_source(table: str, version: int) -> Any:
    """MLflow's source for a Delta table version: a Unity Catalog table by its three-part
    name (so the run links to the table), a local table by its path."""
    from mlflow.data.delta_dataset_source import DeltaDatasetSource

    if "/" in table:
        return DeltaDatasetSource(path=table, delta_table_version=int(version))
    return DeltaDatasetSource(delta_table_name=table, delta_table_version=int(version))


def log_training_context(
    train_set: pd.DataFrame,
    train_version: dict,
    test_version: dict,
    best_params: dict[str, Any],
    tags: dict[str, str],
) -> None:
    """Tags the active run and logs the chosen hyperparameters and the input tables."""
    mlflow.set_tags(tags)
    mlflow.log_params({f"best.{k}": v for k, v in best_params.items()})
    for name, version, frame in (
        ("train_set", train_version, train_set),
        ("test_set", test_version, None),
    ):
        source = delta_source(version["table"], version["version"])
        data = frame if frame is not None else pd.DataFrame({"page_id": []})
        dataset = mlflow.data.from_pandas(
            data, source=source, name=name, digest=f"{name}@v{version['version']}"
        )
        mlflow.log_input(dataset, context="training" if frame is not None else "evaluation")
