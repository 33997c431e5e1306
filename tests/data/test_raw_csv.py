"""Strict raw CSV parsing and the processed-dataset check (plain Python, no Spark)."""

import pandas as pd
import pytest

from marvel_mlops.data.processing_run import (
    InconsistentDatasetError,
    processing_run,
    verify_processed_dataset,
)
from marvel_mlops.data.raw_csv import parse_raw_csv

HEADER = b",PageID,Name,Teams\n"


def test_well_formed_records_are_kept_with_multiline_quoted_fields():
    parsed = parse_raw_csv(HEADER + b'0,A,"Al",\n1,B,"two\nlines","X, Y"\n')
    assert parsed.header == ["_c0", "PageID", "Name", "Teams"]
    assert parsed.rows == [["0", "A", "Al", ""], ["1", "B", "two\nlines", "X, Y"]]
    assert parsed.malformed == []


@pytest.mark.parametrize(
    ("record", "reason", "raw"),
    [
        (b"7,C,c,d,e,f\n", "too_many_fields", "7,C,c,d,e,f\n"),
        (b"7,D\n", "malformed_row", "7,D\n"),
        (b"7,B,B\xe9e,\n", "invalid_encoding", "7,B,B\\xe9e,\n"),
        (b'7,F,F,"Avengers, X-Men, Defe', "malformed_row", '7,F,F,"Avengers, X-Men, Defe'),
    ],
)
def test_malformed_records_keep_their_reason_and_raw_text(record, reason, raw):
    parsed = parse_raw_csv(HEADER + b"0,A,a,\n" + record)
    assert parsed.rows == [["0", "A", "a", ""]]
    assert parsed.malformed == [("7", reason, raw)]


def test_a_bad_record_does_not_swallow_the_next_one():
    parsed = parse_raw_csv(HEADER + b"1,C,c,d,e\n2,B,b,\n")
    assert parsed.rows == [["2", "B", "b", ""]]
    assert [m[1] for m in parsed.malformed] == ["too_many_fields"]


def test_the_run_id_depends_on_every_input_and_only_on_them():
    run = processing_run("digest", {"a": 1}, "code")
    assert run == processing_run("digest", {"a": 1}, "code")
    others = [
        processing_run("other", {"a": 1}, "code"),
        processing_run("digest", {"a": 2}, "code"),
        processing_run("digest", {"a": 1}, "other"),
    ]
    assert all(o["processing_run_id"] != run["processing_run_id"] for o in others)


def _table(*run_ids):
    return pd.DataFrame({"page_id": list("abc")[: len(run_ids)], "processing_run_id": run_ids})


def test_tables_of_the_completed_run_pass_through():
    train, test = _table("r1", "r1"), _table("r1")
    assert verify_processed_dataset(train, test, {"processing_run_id": "r1"}) == (train, test)


@pytest.mark.parametrize(
    ("train", "test", "summary", "says"),
    [
        (_table("r2"), _table("r1"), {"processing_run_id": "r1"}, "train_set from run(s) r2"),
        (_table("r1", "r2"), _table("r1"), {"processing_run_id": "r1"}, "r1, r2"),
        (_table("r1"), _table("r1"), None, "summary, written last, is missing"),
        (_table("r1"), pd.DataFrame({"page_id": ["a"]}), {"processing_run_id": "r1"}, "predates"),
    ],
)
def test_tables_of_another_or_unfinished_run_are_refused(train, test, summary, says):
    with pytest.raises(InconsistentDatasetError, match="Rerun data_processing") as error:
        verify_processed_dataset(train, test, summary)
    assert says in str(error.value)
