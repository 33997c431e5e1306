"""A processed dataset is one unit: the tables of one completed data_processing run.

data_processing stamps every row of ``train_set``, ``test_set`` and
``rejected_characters`` with the run's id and the raw file's digest, and writes
``data_processing_summary`` last, as the commit marker. Training and evaluation check
that both tables carry the marker's run id and nothing else.

The run id is derived from what the run reads (raw file digest, parameters, the
data_processing code): running again on the same input writes the same rows under the
same id, so reruns stay idempotent, while a run on anything else writes a new id.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from marvel_mlops.errors import PlainError

RUN_ID_COLUMN = "processing_run_id"
RAW_DIGEST_COLUMN = "raw_file_sha256"
RERUN_HINT = (
    "Rerun data_processing (`bash project.sh kedro run --pipelines data_processing`, "
    "or the job's data_processing task) to rebuild them as one unit."
)


class InconsistentDatasetError(PlainError, RuntimeError):
    """The processed tables do not come from one completed data_processing run."""


def processing_run(raw_digest: str, params: dict[str, Any], code_digest: str) -> dict[str, str]:
    """The run's id (from its inputs) and the raw file's digest."""
    identity = json.dumps([raw_digest, params, code_digest], sort_keys=True, default=str)
    return {
        RUN_ID_COLUMN: hashlib.sha256(identity.encode()).hexdigest()[:16],
        RAW_DIGEST_COLUMN: raw_digest,
    }


def _run_ids(table: Any, name: str) -> list[str]:
    if RUN_ID_COLUMN not in table.columns:
        return [f"none ({name} predates processing run ids)"]
    return sorted(str(v) for v in table[RUN_ID_COLUMN].dropna().unique()) or ["none (empty)"]


def check_processed_tables(
    train_set: Any, test_set: Any, summary: dict[str, Any] | None
) -> str | None:
    """The problem with the tables, in words, or ``None`` when they are one completed run."""
    if not summary or RUN_ID_COLUMN not in summary:
        return "there is no completed data_processing run (its summary, written last, is missing)"
    expected = summary[RUN_ID_COLUMN]
    found = {
        "train_set": _run_ids(train_set, "train_set"),
        "test_set": _run_ids(test_set, "test_set"),
    }
    if all(ids == [expected] for ids in found.values()):
        return None
    seen = ", ".join(f"{name} from run(s) {', '.join(ids)}" for name, ids in found.items())
    return (
        f"the tables do not come from the last completed data_processing run {expected}: "
        f"{seen} (a run was interrupted between its writes, or a table was changed by hand)"
    )


def verify_processed_dataset(
    train_set: Any, test_set: Any, summary: dict[str, Any] | None
) -> tuple[Any, Any]:
    """Passes train and test through when they are one completed run; else refuses."""
    problem = check_processed_tables(train_set, test_set, summary)
    if problem:
        raise InconsistentDatasetError(f"Refusing train_set/test_set: {problem}. {RERUN_HINT}")
    return train_set, test_set
