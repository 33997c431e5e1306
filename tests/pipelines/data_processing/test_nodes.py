"""data_processing nodes on a real local Spark session."""

import pandas as pd
import pytest

from marvel_mlops.data.schema import RAW_COLUMNS
from marvel_mlops.pipelines.data_processing.nodes import (
    RawDataError,
    clean_characters,
    collect_rejections,
    deduplicate_characters,
    separate_malformed_rows,
    split_train_test,
    validate_raw_characters,
)

RUN = {"processing_run_id": "run1", "raw_file_sha256": "abc"}
PARAMS = {
    "test_ratio": 0.2,
    "split_salt": "s",
    "max_invalid_share": 0.5,
    "numeric_ranges": {"height_m": [0.01, 1000.0], "weight_kg": [0.01, 1e6]},
}


def raw_row(page_id="A_(Earth-616)", alive="Alive", height="", weight="", **overrides):
    row = {c: "" for c in RAW_COLUMNS}
    row.update(
        {
            "PageID": page_id,
            "Name": page_id.split("_")[0],
            "Universe": "Earth-616",
            "Alive": alive,
            "Height (m)": height,
            "Weight (kg)": weight,
        }
    )
    row.update(overrides)
    return row


def to_spark(spark, rows, index=True):
    frame = pd.DataFrame(rows, columns=list(RAW_COLUMNS)).astype(str)
    if index:
        frame.insert(0, "_c0", [str(i) for i in range(len(frame))])
    schema = ", ".join(f"`{c}` string" for c in frame.columns)
    return spark.createDataFrame(frame, schema=schema)


def test_validate_renames_to_clean_columns(spark):
    out = validate_raw_characters(to_spark(spark, [raw_row()]), PARAMS)
    assert out.columns[:3] == ["source_row", "page_id", "name"]
    assert "marital_status" in out.columns and "height_m" in out.columns


def test_missing_column_is_named(spark):
    frame = to_spark(spark, [raw_row()]).drop("Alive")
    with pytest.raises(RawDataError, match=r"missing required column\(s\) \['Alive'\]"):
        validate_raw_characters(frame, PARAMS)


def test_wrong_type_is_named(spark):
    rows = [raw_row(f"P{i}_(x)", height="very tall") for i in range(10)]
    with pytest.raises(RawDataError, match=r"column 'Height \(m\)' has the wrong type"):
        validate_raw_characters(to_spark(spark, rows), PARAMS)


def test_wrong_label_vocabulary_is_named(spark):
    rows = [raw_row(f"P{i}_(x)", alive="yes") for i in range(10)]
    with pytest.raises(RawDataError, match="column 'Alive'"):
        validate_raw_characters(to_spark(spark, rows), PARAMS)


def test_empty_and_header_only_files_are_refused(spark):
    with pytest.raises(RawDataError, match="empty"):
        validate_raw_characters(spark.createDataFrame([], "struct<>"), PARAMS)
    with pytest.raises(RawDataError, match="no rows"):
        validate_raw_characters(to_spark(spark, []), PARAMS)


def test_clean_rejects_bad_rows_with_a_reason_and_types_the_rest(spark):
    rows = [
        raw_row("Good_(x)", alive=" dead ", height="1.8", weight="80"),
        raw_row("", alive="Alive"),
        raw_row("NoLabel_(x)", alive=""),
        raw_row("Bad_(x)", alive="Unknown"),
        raw_row("Tall_(x)", height="tall"),
        raw_row("Light_(x)", weight="-80"),
    ]
    usable, rejected = clean_characters(
        validate_raw_characters(to_spark(spark, rows), PARAMS), PARAMS
    )
    good = usable.toPandas()
    assert good["page_id"].tolist() == ["Good_(x)"]
    assert good.loc[0, "alive"] == 0 and good.loc[0, "height_m"] == 1.8
    assert good.loc[0, "identity"] is None  # blanks become nulls
    reasons = dict(rejected.select("page_id", "reason").toPandas().fillna("<null>").values)
    assert reasons == {
        "<null>": "missing_page_id",
        "NoLabel_(x)": "missing_label",
        "Bad_(x)": "invalid_label",
        "Tall_(x)": "invalid_number:height_m",
        "Light_(x)": "out_of_range:weight_kg",
    }


def test_deduplicate_keeps_the_most_complete_row_whatever_the_order(spark):
    rows = [
        raw_row("Dup_(x)"),
        raw_row("Dup_(x)", Teams="Avengers", height="1.7"),
        raw_row("Solo_(x)"),
    ]
    results = []
    for ordering in (rows, rows[::-1]):
        frame = to_spark(spark, ordering)
        usable, _ = clean_characters(validate_raw_characters(frame, PARAMS), PARAMS)
        unique, duplicates = deduplicate_characters(usable)
        kept = unique.where("page_id = 'Dup_(x)'").toPandas()
        results.append((kept.loc[0, "teams"], duplicates.count(), unique.count()))
    assert results[0] == results[1] == ("Avengers", 1, 2)


def test_split_is_deterministic_disjoint_and_near_the_ratio(spark):
    frame = spark.createDataFrame(
        pd.DataFrame(
            {
                "source_row": [str(i) for i in range(4000)],
                "page_id": [f"C{i}_(Earth-616)" for i in range(4000)],
            }
        )
    )
    train, test = split_train_test(frame, PARAMS, RUN)
    train_ids = {r.page_id for r in train.collect()}
    test_ids = {r.page_id for r in test.collect()}
    assert not train_ids & test_ids and len(train_ids | test_ids) == 4000
    assert len(test_ids) / 4000 == pytest.approx(0.2, abs=0.02)
    _, test_again = split_train_test(frame.orderBy("page_id", ascending=False), PARAMS, RUN)
    assert {r.page_id for r in test_again.collect()} == test_ids
    assert "update_timestamp_utc" in train.columns and "source_row" not in train.columns
    stamps = test.select("processing_run_id", "raw_file_sha256").distinct().collect()
    assert [tuple(r) for r in stamps] == [("run1", "abc")]


def test_rejections_have_stable_ids(spark):
    rows = [raw_row("", alive="Alive"), raw_row("X_(x)", alive="?")]
    frame = validate_raw_characters(to_spark(spark, rows), PARAMS)
    _, rejected = clean_characters(frame, PARAMS)
    empty = rejected.limit(0)
    _, malformed = separate_malformed_rows(to_spark(spark, rows))
    first = collect_rejections(rejected, empty, malformed, RUN).select("rejection_id").toPandas()
    second = collect_rejections(rejected, empty, malformed, RUN).select("rejection_id").toPandas()
    assert first["rejection_id"].is_unique and first.equals(second)


def test_a_duplicate_with_the_other_label_is_a_conflicting_duplicate(spark, caplog):
    rows = [
        raw_row("Dup_(x)", alive="Alive", Teams="Avengers"),
        raw_row("Dup_(x)", alive="Alive"),
        raw_row("Dup_(x)", alive="Dead"),
        raw_row("Solo_(x)"),
    ]
    usable, _ = clean_characters(validate_raw_characters(to_spark(spark, rows), PARAMS), PARAMS)
    with caplog.at_level("WARNING"):
        unique, duplicates = deduplicate_characters(usable)
    reasons = sorted(r.reason for r in duplicates.collect())
    assert reasons == ["conflicting_duplicate", "duplicate_page_id"]
    assert unique.where("page_id = 'Dup_(x)'").first().teams == "Avengers"
    assert "1 duplicated PageID row(s) disagree" in caplog.text


def test_the_unnamed_index_column_is_named_for_people(spark):
    frame = to_spark(spark, [raw_row()]).drop("Alive")
    with pytest.raises(RawDataError) as error:
        validate_raw_characters(frame, PARAMS)
    assert "the unnamed index column" in str(error.value) and "_c0" not in str(error.value)
