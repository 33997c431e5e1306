"""The self-contained HTML monitoring report (plots embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px}
.retrain{background:#fdd;padding:1em}.ok{background:#dfd;padding:1em}img{max-width:100%}"""


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _lines(frame: pd.DataFrame, x: str, series: str, metrics: list[str], title: str) -> str:
    if frame.empty:
        return "<p>No data yet.</p>"
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for name, rows in frame.sort_values(x).groupby(series):
            if rows[metric].notna().any():
                ax.plot(rows[x], rows[metric], marker="o", ms=3, label=str(name))
        ax.set_title(metric)
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    axes[0][0].legend(fontsize=7, ncol=2)
    fig.suptitle(title)
    return _png(fig)


def drift_plot(drift: pd.DataFrame) -> str:
    """Drift against the baseline per feature over time (PSI, JS, Wasserstein)."""
    rows = drift[(drift["drift_type"] == "BASELINE") & (drift["slice_value"] == "champion")]
    metrics = ["population_stability_index", "js_distance", "wasserstein_normalised"]
    return _lines(rows, "window_start", "column_name", metrics, "Drift vs. training data")


def prediction_plot(profile: pd.DataFrame) -> str:
    """The predicted probability's distribution per window (median and 5-95 % band)."""
    rows = profile[profile["column_name"] == "probability"].sort_values("window_start")
    if rows.empty:
        return "<p>No predictions yet.</p>"
    fig, ax = plt.subplots(figsize=(9, 3.4))
    for name, part in rows.groupby("slice_value"):
        ax.plot(part["window_start"], part["median"], marker="o", ms=3, label=f"{name} median")
        ax.fill_between(part["window_start"], part["p05"], part["p95"], alpha=0.2)
    ax.set_title("Predicted P(alive): median and 5-95 % per window")
    ax.legend(fontsize=7)
    return _png(fig)


def performance_plot(performance: pd.DataFrame) -> str:
    """Quality over time once labels arrive, and the label coverage."""
    metrics = ["roc_auc", "accuracy", "log_loss", "label_coverage"]
    return _lines(performance, "window_start", "slice_value", metrics, "Performance")


def _table(frame: pd.DataFrame, limit: int = 50) -> str:
    return (
        frame.head(limit).to_html(index=False, float_format=lambda v: f"{v:.4g}")
        if len(frame)
        else "<p>None.</p>"
    )


def _feature_store_section(feature_store: dict[str, Any] | None) -> list[str]:
    if feature_store is None:
        return []
    stale = feature_store.get("stale")
    line = f"Stale: {stale}" if stale else "The online store holds the latest feature tables."
    css = "retrain" if stale else "ok"
    return ["<h2>Feature store</h2>", f'<div class="{css}"><p>{html.escape(line)}</p></div>']


def render(
    profile: pd.DataFrame,
    drift: pd.DataFrame,
    performance: pd.DataFrame,
    alerts: pd.DataFrame,
    decision: dict[str, Any],
    explanation: str,
    feature_store: dict[str, Any] | None = None,
) -> str:
    """The whole report as one HTML string; ``feature_store`` (its ``stale`` reason) adds
    the online store's state."""
    breached = alerts[alerts["breached"].astype(bool)].sort_values("window_start", ascending=False)
    columns = [
        "window_start",
        "model_id",
        "slice_value",
        "column_name",
        "rule",
        "value",
        "threshold",
        "severity",
    ]
    css = "retrain" if decision.get("retrain") else "ok"
    windows = profile[profile["column_name"] == ":table"]
    sections = [
        "<h1>marvel-mlops monitoring</h1>",
        f"<p>{len(windows)} windows, {int(windows['count'].sum())} predictions, "
        f"{len(breached)} breached alert(s).</p>",
        f'<div class="{css}"><pre>{html.escape(explanation)}</pre></div>',
        *_feature_store_section(feature_store),
        "<h2>Drift per feature over time</h2>",
        drift_plot(drift),
        "<h2>Prediction distribution</h2>",
        prediction_plot(profile),
        "<h2>Performance over time</h2>",
        performance_plot(performance),
        "<h2>Alerts (latest first)</h2>",
        _table(breached[columns]),
        "<h2>Performance per window</h2>",
        _table(performance.sort_values("window_start", ascending=False)),
    ]
    body = "\n".join(sections)
    head = f"<meta charset='utf-8'><title>Monitoring</title><style>{STYLE}</style>"
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"
