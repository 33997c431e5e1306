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


def run(project: Path, pipelines=("demo_traffic", "monitoring")) -> None:
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env="local") as session:
        session.run(pipeline_names=list(pipelines))


def read(project: Path, table: str) -> pd.DataFrame:
    return DeltaTable(str(project / "data/lakehouse" / table)).to_pandas()


@pytest.fixture
def monitored_project(project_copy: Path, spark) -> Path:
    """The project with a registered champion (in its own SQLite store) and a small demo."""
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    champion = register_champion(project_copy / "data" / "mlflow", train_rows=3000)
    # The champion's train_set version is gone (rewritten, then VACUUMed): the baseline
    # must not depend on time travel.
    train_set = DeltaTable(champion["train_set"])
    train_set.delete()
    train_set.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    event = project_copy / "data/08_reporting/deployment/deployment_event.json"
    event.parent.mkdir(parents=True, exist_ok=True)
    event.write_text('{"deployment_id": "test", "action": "promote", "model_version": "1"}')
    # conf/local replaces the whole top-level key: start from the base parameters.
    params = yaml.safe_load((project_copy / "conf/base/parameters_monitoring.yml").read_text())
    params["monitoring"]["trigger"] |= {"k": 2, "n": 3}
    (project_copy / "conf/local/parameters_monitoring.yml").write_text(yaml.safe_dump(params))
    demo = yaml.safe_load((project_copy / "conf/base/parameters_demo_traffic.yml").read_text())
    demo["demo_traffic"] |= {"rows_per_window": 500, "windows": 6, "drift_from_window": 3}
    (project_copy / "conf/local/parameters_demo_traffic.yml").write_text(yaml.safe_dump(demo))
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
    baseline_drift = tables["monitoring_drift_metrics"].query("drift_type == 'BASELINE'")
    assert {"gender", "probability"} <= set(baseline_drift["column_name"])
    alerts = tables["monitoring_alerts"]
    drifted = alerts[alerts["breached"] & (alerts["column_name"] == "gender")]
    assert drifted["window_start"].min() >= performance["window_start"].iloc[3]
    report = (monitored_project / "data/08_reporting/monitoring/report.html").read_text()
    assert report.count("data:image/png;base64,") >= 3
    prom = monitored_project / "data/08_reporting/monitoring/marvel_mlops_monitoring.prom"
    assert "marvel_mlops_monitoring_retraining_needed 1.0" in prom.read_text()
    dashboard = Path(__file__).parents[3] / "dashboards/grafana/marvel-mlops-dashboard.json"
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


@pytest.mark.slow
def test_monitoring_alone_on_a_fresh_project_says_there_is_nothing_to_monitor(
    project_copy: Path, spark, caplog
):
    """No model, no log, no labels, no deployment yet: the job succeeds and says so."""
    caplog.set_level("INFO")
    run(project_copy, pipelines=["monitoring"])
    trigger = yaml.safe_load(
        (project_copy / "data/08_reporting/monitoring/retraining_trigger.json").read_text()
    )
    assert trigger["retrain"] is False
    assert "No inference_log table yet: nothing to monitor" in caplog.text
    assert "No trained model yet: no drift baseline" in caplog.text
    report = (project_copy / "data/08_reporting/monitoring/report.html").read_text()
    assert "<html" in report.lower()
    # the online store is reported too: here nothing was ever published
    assert "<h2>Feature store</h2>" in report
    assert "Stale: no feature table has been published to the online store yet" in report
    assert not (project_copy / "data/lakehouse/inference_log").exists()
