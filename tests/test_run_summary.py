"""The lines a run ends with, from the results it wrote."""

from marvel_mlops.run_summary import summary_lines

RESULTS = {
    "data_processing_summary": {
        "rows_read": 92985,
        "rows_train": 74046,
        "rows_test": 18433,
        "rows_rejected": 506,
        "rejected_by_reason": {"duplicate_page_id": 368, "invalid_label": 28, "x": 110},
    },
    "evaluation_metrics": {
        "challenger": {"version": "3", "roc_auc": 0.7773, "balanced_accuracy": 0.68, "f1": 0.52},
        "baseline": {"roc_auc": 0.5, "balanced_accuracy": 0.5, "f1": 0.0},
    },
    "promotion_decision": {"promote": False, "mode": "enabled", "reasons": ["a tie"]},
    "deployment_event": {"action": "refuse", "model_version": "3", "previous_version": "2"},
    "retraining_trigger": {"retrain": True, "explanation": "Retraining NEEDED for v2\n - x"},
}


def test_every_result_gets_one_line_with_its_numbers_and_where_to_look():
    lines = summary_lines(RESULTS, "data/08_reporting/monitoring/report.html")
    text = "\n".join(lines)
    assert lines[0].startswith("data      92,985 rows read: 74,046 train, 18,433 test, 506")
    assert "(368 duplicate_page_id, 110 x, 28 invalid_label)" in lines[0]
    assert "roc_auc 0.777 (always-alive 0.500)" in text
    assert "decision  keep the champion (enabled mode): a tie" in text
    assert "champion  refuse: version 3 (previous 2)" in text
    assert "monitoring Retraining NEEDED for v2" in text and " - x" not in text
    assert "report    data/08_reporting/monitoring/report.html" in text
    assert "bash project.sh mlflow-ui" in lines[-1]
    assert all("\n" not in line for line in lines)


def test_a_run_that_wrote_only_some_results_says_only_those():
    lines = summary_lines({"promotion_decision": None, "deployment_event": {"action": "x"}}, None)
    assert [line.split()[0] for line in lines] == ["champion", "next"]
