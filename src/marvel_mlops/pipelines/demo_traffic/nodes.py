"""Demo traffic: what a served model would have logged, generated for a fresh local clone.

Local only: ``conf/databricks`` maps this pipeline's outputs to ``LocalOnlyDataset``, so
generated rows can never reach a Unity Catalog table. The monitoring pipeline itself
never generates traffic; it reads only what was logged.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from marvel_mlops.adapters.spark import from_arrow
from marvel_mlops.deployments import serving_version
from marvel_mlops.monitoring import traffic

logger = logging.getLogger(__name__)


def _served_model(model: Any, event: dict[str, Any]) -> Any:
    expected = serving_version(event)
    if expected is not None and str(model.version) != expected:
        raise ValueError(
            f"deployment_event says version {expected} serves, but the registry's "
            f"{model.alias} is version {model.version}: rerun the deployment pipeline"
        )
    return model


def generate_demo_traffic(
    inference_log_exists: bool,
    model: Any,
    event: dict[str, Any],
    demo: dict[str, Any],
    granularity: str,
) -> tuple[Any, Any]:
    """Windows of predictions (later ones drifted) and their late labels, scored by the
    model the deployment left serving; empty when a log exists or the demo is off."""
    predictions, labels = [], []
    if demo["enabled"] and not inference_log_exists:
        served = _served_model(model, event)
        for batch in traffic.demo_batches(demo, granularity, pd.Timestamp.now("UTC")):
            frame = traffic.characters(int(demo["rows_per_window"]), batch["seed"], batch["drift"])
            times = traffic.uniform_times(
                batch["start"], batch["length"], len(frame), batch["seed"]
            )
            predictions.append(
                traffic.scored_rows(frame, served.python_model, served.version, times)
            )
            if batch["labelled"]:
                labels.append(traffic.label_rows(frame, times + batch["label_delay"]))
        logger.info(
            "Generated %d demo windows through version %s", len(predictions), served.version
        )
    return (
        from_arrow(traffic.inference_arrow(_concat(predictions, traffic.INFERENCE_LOG_COLUMNS))),
        from_arrow(traffic.ground_truth_arrow(_concat(labels, traffic.GROUND_TRUTH_COLUMNS))),
    )


def _concat(frames: list[pd.DataFrame], contract: dict[str, str]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(contract))
