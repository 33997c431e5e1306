"""The few lines a run ends with: what happened, and where to look next."""

from __future__ import annotations

from typing import Any

SUMMARY_DATASETS = (
    "data_processing_summary",
    "evaluation_metrics",
    "promotion_decision",
    "deployment_event",
    "retraining_trigger",
)
"""Results a run may have written, read back (when written) to build the summary."""


def _data(summary: dict[str, Any]) -> str:
    reasons = summary.get("rejected_by_reason") or {}
    top = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items(), key=lambda i: -i[1])[:3])
    return (
        f"data      {summary.get('rows_read', '?'):,} rows read: "
        f"{summary.get('rows_train', 0):,} train, {summary.get('rows_test', 0):,} test, "
        f"{summary.get('rows_rejected', 0):,} rejected" + (f" ({top})" if top else "")
    )


def _model(metrics: dict[str, Any]) -> str:
    challenger, baseline = metrics.get("challenger") or {}, metrics.get("baseline") or {}
    names = ("roc_auc", "balanced_accuracy", "f1")
    shown = ", ".join(
        f"{n} {challenger[n]:.3f} (always-alive {baseline.get(n, float('nan')):.3f})"
        for n in names
        if n in challenger
    )
    return f"model     version {challenger.get('version', '?')} on the test set: {shown}"


def _decision(decision: dict[str, Any]) -> str:
    verdict = "promote" if decision.get("promote") else "keep the champion"
    reasons = "; ".join(decision.get("reasons") or [])[:160]
    return f"decision  {verdict} ({decision.get('mode', '?')} mode): {reasons}"


def _deployment(event: dict[str, Any]) -> str:
    return (
        f"champion  {event.get('action')}: version {event.get('model_version')} "
        f"(previous {event.get('previous_version')})"
    )


def _monitoring(trigger: dict[str, Any]) -> str:
    first = str(trigger.get("explanation", "")).splitlines()[:1]
    return "monitoring " + (first[0] if first else f"retrain: {trigger.get('retrain')}")


LINE_BUILDERS = {
    "data_processing_summary": _data,
    "evaluation_metrics": _model,
    "promotion_decision": _decision,
    "deployment_event": _deployment,
    "retraining_trigger": _monitoring,
}


def summary_lines(results: dict[str, Any], report: str | None) -> list[str]:
    """The closing lines for the results this run wrote (each optional)."""
    lines = [LINE_BUILDERS[name](value) for name, value in results.items() if value]
    if report:
        lines.append(f"report    {report}")
    lines.append(
        "next      bash project.sh mlflow-ui (runs, registered model) | "
        "bash project.sh viz (pipelines) | bash project.sh serve (REST API)"
    )
    return lines
