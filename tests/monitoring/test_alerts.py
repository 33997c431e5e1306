"""The k-of-n retraining trigger and the retrain-check exit status."""

import pandas as pd
import pytest

from marvel_mlops.cli.retrain_check import EXIT_RETRAIN, main
from marvel_mlops.monitoring.alerts import retraining_decision


def alerts(breaches: list[bool], model_id: str = "3") -> pd.DataFrame:
    starts = pd.date_range("2024-01-01", periods=len(breaches), freq="h", tz="UTC")
    return pd.DataFrame(
        {
            "window_start": starts, "model_id": model_id, "slice_value": "champion",
            "column_name": "gender", "rule": "js_distance", "metric": "js_distance",
            "value": [0.3 if b else 0.01 for b in breaches], "threshold": 0.1,
            "breached": breaches, "triggers_retraining": True,
        }
    )  # fmt: skip


@pytest.mark.parametrize(
    ("breaches", "fires"),
    [
        ([False, False, True, True, True], True),  # 3 of the last 5, latest included
        ([True, True, True, True, False], False),  # latest window is fine
        ([False, False, False, True, True], False),  # only 2 of 5
        ([True, True, False, False, False, False, True], False),  # old breaches fell out
    ],
)
def test_k_of_n_with_the_latest_window_included(breaches, fires):
    decision = retraining_decision(alerts(breaches), k=3, n=5, variant="champion")
    assert decision["retrain"] is fires


def test_only_the_latest_model_version_counts():
    old = alerts([True] * 5, model_id="2")
    new = alerts([False, True], model_id="3")
    new["window_start"] += pd.Timedelta(hours=10)
    assert not retraining_decision(pd.concat([old, new]), 2, 5, "champion")["retrain"]


def test_retrain_check_exit_status(tmp_path, project_copy, monkeypatch, capsys):
    report = project_copy / "data/08_reporting/monitoring"
    report.mkdir(parents=True)
    decision = retraining_decision(alerts([True] * 3), 3, 5, "champion") | {
        "explanation": "drift on gender"
    }
    import json

    (report / "retraining_trigger.json").write_text(json.dumps(decision, default=str))
    assert main(["--project", str(project_copy)]) == EXIT_RETRAIN
    assert "drift on gender" in capsys.readouterr().out
    (report / "retraining_trigger.json").write_text(
        json.dumps(decision | {"retrain": False}, default=str)
    )
    assert main(["--project", str(project_copy)]) == 0
