"""``marvel-mlops replay``: generated (optionally drifted) traffic, then its late labels.

With ``--url`` the characters are POSTed to a running server's ``/invocations`` (MLflow's
``{"dataframe_records": [...]}``, ``page_id`` in each record; the server logs them);
without it they are scored by the champion and appended to ``inference_log`` directly.
Either way their true labels go to ``ground_truth``, observed ``--label-delay`` later.

Examples::

    marvel-mlops replay --rows 2000                                   # no server
    marvel-mlops replay --url http://127.0.0.1:8080 --rows 2000 \\
        --marginal "Gender=Female:0.6,Male:0.4" --height-shift 0.4 --concept-shift 0.8
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

import pandas as pd

from marvel_mlops.cli.session import project_session
from marvel_mlops.data.generator import DriftSpec
from marvel_mlops.monitoring import traffic

logger = logging.getLogger(__name__)


def parse_marginal(text: str) -> tuple[str, dict[str, float]]:
    """``"Gender=Female:0.6,Male:0.4"`` -> ``("Gender", {"Female": 0.6, "Male": 0.4})``."""
    column, sep, spec = text.partition("=")
    try:
        weights = {k: float(v) for k, v in (p.rsplit(":", 1) for p in spec.split(","))}
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--marginal '{text}': expected COLUMN=VALUE:WEIGHT,VALUE:WEIGHT"
        ) from exc
    if not sep or not column or any(w < 0 for w in weights.values()):
        raise argparse.ArgumentTypeError(f"--marginal '{text}': need a column and weights >= 0")
    return column, weights


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="marvel-mlops replay", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--url", help="model server base URL; omitted = score with the champion")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None, help="default: from the clock")
    parser.add_argument("--batch-size", type=int, default=100, help="records per request")
    parser.add_argument("--marginal", type=parse_marginal, action="append", default=[])
    parser.add_argument("--unseen-share", type=float, default=0.0)
    parser.add_argument("--height-shift", type=float, default=0.0)
    parser.add_argument("--height-present-share", type=float, default=None)
    parser.add_argument("--concept-shift", type=float, default=0.0)
    parser.add_argument(
        "--label-share", type=float, default=1.0, help="share of labels that arrive"
    )
    parser.add_argument("--label-delay", default="1 hour", help="e.g. '2 hours'")
    parser.add_argument("--token-env", default="MARVEL_SERVING_TOKEN")
    parser.add_argument("--env", default="local", help="Kedro configuration environment")
    parser.add_argument("--project", default=".", help="Kedro project root")
    return parser


def drift_spec(args: argparse.Namespace) -> DriftSpec:
    """The generator's drift options from the command line."""
    return DriftSpec(
        marginals=dict(args.marginal),
        unseen_share=args.unseen_share,
        height_shift=args.height_shift,
        height_present_share=args.height_present_share,
        concept_shift=args.concept_shift,
    )


def post_records(url: str, rows: list[dict[str, Any]], batch_size: int, token: str | None) -> int:
    """Sends records in batches to ``/invocations``; returns how many were scored."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    scored = 0
    with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            response = client.post("/invocations", json={"dataframe_records": batch})
            if response.status_code != 200:
                raise RuntimeError(
                    f"{url}/invocations answered {response.status_code}: {response.text[:300]}"
                )
            scored += len(response.json()["predictions"])
    return scored


def main(argv: list[str]) -> int:
    """Replays traffic; returns 0, or 2 on bad options or an unreachable server."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = build_parser().parse_args(argv)
    if args.rows <= 0 or not 0 <= args.label_share <= 1:
        print("replay: --rows must be > 0 and --label-share in [0, 1]")
        return 2
    seed = args.seed if args.seed is not None else int(pd.Timestamp.now().timestamp()) % 1_000_000
    frame = traffic.characters(args.rows, seed, drift_spec(args))
    with project_session(args.env, project=args.project) as session:
        return _replay(args, frame, seed, session.load_context().catalog)


def _replay(args: argparse.Namespace, frame: pd.DataFrame, seed: int, catalog: Any) -> int:
    from marvel_mlops.adapters.spark import from_arrow

    now = pd.Timestamp.now("UTC")
    if args.url:
        try:
            sent = post_records(
                args.url.rstrip("/"),
                traffic.records(frame),
                args.batch_size,
                os.environ.get(args.token_env),
            )
        except (OSError, RuntimeError) as exc:
            print(f"replay: {exc}")
            return 2
        print(f"Sent {sent} records to {args.url}/invocations")
    else:
        model = catalog.load("monitored_model")
        times = pd.Series([now] * len(frame))
        rows = traffic.scored_rows(frame, model.python_model, model.version, times)
        catalog.save("inference_log@demo", from_arrow(traffic.inference_arrow(rows)))
        print(f"Scored {len(rows)} records with {model.name} v{model.version} into inference_log")
    labelled = frame.sample(frac=args.label_share, random_state=seed)
    observed = pd.Series([now + pd.Timedelta(args.label_delay)] * len(labelled))
    truth = traffic.label_rows(labelled, observed)
    catalog.save("ground_truth@demo", from_arrow(traffic.ground_truth_arrow(truth)))
    print(f"Wrote {len(truth)} labels to ground_truth (observed at {observed.iloc[0]})")
    return 0
