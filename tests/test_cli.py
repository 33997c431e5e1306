"""`kedro run` prints a data error plainly: the message first, the traceback in the log file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from marvel_mlops.data.generator import generate_raw, write_raw_csv


@pytest.mark.slow
def test_a_data_error_is_one_plain_message_without_a_traceback(project_copy: Path):
    raw = generate_raw(300, seed=1)
    raw["Weight (kg)"] = "heavy"
    write_raw_csv(raw, project_copy / "data/01_raw/marvel_characters.csv")
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--pipelines", "data_processing"],
        check=False,
        cwd=project_copy,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "COLUMNS": "200"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1
    errors = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert errors == [
        "Error: column 'Weight (kg)' has the wrong type: "
        f"{len(raw)} of {len(raw)} values are not a number (example value: 'heavy')"
    ]
    assert "Traceback" not in output and "╭─" not in output
    assert "(traceback in logs/last_error.log; add --verbose to print it)" in output
    log = (project_copy / "logs/last_error.log").read_text()
    assert "Traceback (most recent call last)" in log and "RawDataError" in log
