"""The monitoring pipeline end to end through a KedroSession, in a copy of the project."""

import re
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from deltalake import DeltaTable
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tests.monitoring.helpers import register_champion

TABLES = (
    "monitoring_profile_metrics",
    "monitoring_drift_metrics",
    "monitoring_performance_metrics",
    "monitoring_alerts",
)


def run(project: Path) -> None:
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env="local") as session:
        session.run(pipeline_names=["monitoring"])


def read(project: Path, table: str) -> pd.DataFrame:
    return DeltaTable(str(project / "data/lakehouse" / table)).to_pandas()


@pytest.fixture
def monitored_project(project_copy: Path, spark) -> Path:
    """The project with a registered champion (in its own SQLite store) and a small demo."""
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    register_champion(project_copy / "data" / "mlflow", train_rows=3000)
    event = project_copy / "data/08_reporting/deployment/deployment_event.json"
    event.parent.mkdir(parents=True, exist_ok=True)
    event.write_text('{"deployment_id": "test", "action": "promote", "model_version": "1"}')
    # conf/local replaces the whole top-level key: start from the base parameters.
    params = yaml.safe_load((project_copy / "conf/base/parameters_monitoring.yml").read_text())
    params["monitoring"]["demo_traffic"] |= {"rows_per_window": 500, "windows": 6}
    params["monitoring"]["demo_traffic"]["drift_from_window"] = 3
    params["monitoring"]["trigger"] |= {"k": 2, "n": 3}
    (project_copy / "conf/local/parameters_monitoring.yml").write_text(yaml.safe_dump(params))
    yield project_copy
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


@pytest.mark.slow
def test_demo_fills_every_table_and_a_second_run_adds_nothing(monitored_project: Path):
    run(monitored_project)
    tables = {t: read(monitored_project, t) for t in TABLES}
    assert all(len(frame) for frame in tables.values())
    performance = tables["monitoring_performance_metrics"].sort_values("window_start")
    assert len(performance) == 6
    # The newest window has no labels yet: no metrics, no failure.
    assert performance["labelled_count"].iloc[-1] == 0
    assert performance["roc_auc"].iloc[-1] != performance["roc_auc"].iloc[-1]  # NaN
    assert performance["roc_auc"].iloc[:5].notna().all()
    alerts = tables["monitoring_alerts"]
    drifted = alerts[alerts["breached"] & (alerts["column_name"] == "gender")]
    assert drifted["window_start"].min() >= performance["window_start"].iloc[3]
    report = (monitored_project / "data/08_reporting/monitoring/report.html").read_text()
    assert report.count("data:image/png;base64,") >= 3
    prom = monitored_project / "data/08_reporting/monitoring/marvel_mlops_monitoring.prom"
    assert "marvel_mlops_monitoring_retraining_needed 1.0" in prom.read_text()
    dashboard = Path(__file__).parents[3] / "monitoring/grafana/marvel-mlops-dashboard.json"
    used = set(re.findall(r"marvel_mlops_monitoring_\w+", dashboard.read_text()))
    assert used and all(name in prom.read_text() for name in used)
    trigger = yaml.safe_load(
        (monitored_project / "data/08_reporting/monitoring/retraining_trigger.json").read_text()
    )
    assert trigger["retrain"] is True

    versions = {
        t: DeltaTable(str(monitored_project / "data/lakehouse" / t)).version() for t in TABLES
    }
    log_rows = len(read(monitored_project, "inference_log"))
    run(monitored_project)
    assert len(read(monitored_project, "inference_log")) == log_rows
    for table, frame in tables.items():
        again = read(monitored_project, table)
        keys = [c for c in frame.columns if c != "update_timestamp_utc"]
        pd.testing.assert_frame_equal(
            frame[keys].sort_values(keys[:8]).reset_index(drop=True),
            again[keys].sort_values(keys[:8]).reset_index(drop=True),
        )
    assert versions  # tables were merged, not rewritten: contents above are identical
