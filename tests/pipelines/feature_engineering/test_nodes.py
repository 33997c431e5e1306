"""feature_engineering nodes on a real Spark session: point in time, no label leakage."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from marvel_mlops.data.schema import FEATURE_COLUMNS
from marvel_mlops.features_store.checks import FeatureTableError
from marvel_mlops.pipelines.feature_engineering.nodes import (
    build_timeline,
    check_feature_table,
    group_feature_table,
)

PRIOR, M = 0.5, 2.0
ARRIVAL = {"start": "2024-01-01T00:00:00Z", "days": 730, "salt": "a"}
FOLDS = {"count": 2, "salt": "f"}
AS_OF = "2026-01-01T00:00:00Z"
ALIVE_RATE = {"prior": PRIOR, "smoothing": M}
# page_id, seconds, fold, labelled, alive, universe, teams
CHARACTERS = [
    ("a", 100, 0, True, 1, "U", "T1"),
    ("b", 200, 1, True, 0, "U", "T1; T2"),
    ("c", 300, 0, True, 0, "U", "T2"),
    ("d", 400, 0, False, None, "U", ""),
    ("e", 500, 1, True, 1, "U", "T1"),
    ("z", 150, 1, True, 1, "V", None),
]


def rate(alive: float, labels: float) -> float:
    return (alive + PRIOR * M) / (labels + M)


def timeline(spark, rows=CHARACTERS):
    frame = pd.DataFrame(
        rows, columns=["page_id", "_seconds", "fold", "labelled", "alive", "universe", "teams"]
    )
    for column in FEATURE_COLUMNS:
        if column not in frame:
            frame[column] = None
    frame["event_timestamp"] = pd.to_datetime(frame["_seconds"], unit="s", utc=True)
    frame["alive"] = frame["alive"].astype("Int32")
    schema = (
        "page_id string, _seconds long, fold long, labelled boolean, alive int, universe string,"
        " teams string, identity string, gender string, marital_status string, height_m double,"
        " weight_kg double, origin string, creators string, event_timestamp timestamp"
    )
    columns = [f.split()[0] for f in schema.split(", ")]
    return spark.createDataFrame(
        frame[columns].astype(object).where(frame[columns].notna(), None), schema
    )


def features(spark, rows=CHARACTERS) -> dict[tuple[str, bool], dict]:
    """(page_id, is_snapshot) -> feature row."""
    out = group_feature_table(timeline(spark, rows), ALIVE_RATE, AS_OF).toPandas()
    snapshot = out["event_timestamp"] == pd.Timestamp("2026-01-01")
    return {(r["page_id"], bool(s)): r for (_, r), s in zip(out.iterrows(), snapshot, strict=True)}


@pytest.fixture(scope="module")
def computed(spark):
    return features(spark)


def test_arrival_rows_use_earlier_labels_of_other_folds_only(computed):
    c = computed[("c", False)]  # fold 0 at 300: a is its own fold, b (dead) is the only one
    assert c["universe_characters"] == 2
    assert c["universe_alive_rate"] == pytest.approx(rate(0, 1))
    assert computed[("a", False)]["universe_alive_rate"] == PRIOR  # nothing before it
    # a test row uses every earlier training label (a, b, c), never its own or later ones
    assert computed[("d", False)]["universe_alive_rate"] == pytest.approx(rate(1, 3))
    assert computed[("d", False)]["universe_characters"] == 3


def test_team_features_pool_every_team_of_the_character(computed):
    # b (fold 1) at 200 is in T1 (a: fold 0, alive) and T2 (nobody before)
    b = computed[("b", False)]
    assert b["team_characters"] == 1
    assert b["team_alive_rate"] == pytest.approx(rate(1, 1))
    assert computed[("d", False)]["team_alive_rate"] == PRIOR  # no team
    assert computed[("z", False)]["team_characters"] == 0


def test_snapshot_rows_use_every_other_training_label(computed):
    a = computed[("a", True)]  # others in U: b, c, e labelled (d is a test row)
    assert a["universe_characters"] == 4
    assert a["universe_alive_rate"] == pytest.approx(rate(1, 3))


def _with_label(rows, page_id, alive):
    return [(r[0], r[1], r[2], r[3], alive if r[0] == page_id else r[4], *r[5:]) for r in rows]


def test_a_later_label_never_changes_an_earlier_row(spark, computed):
    changed = features(spark, _with_label(CHARACTERS, "e", 0))  # e arrives last
    for key in ("a", "b", "c", "d", "z"):
        assert changed[(key, False)].equals(computed[(key, False)])


def test_own_label_and_test_labels_never_leak(spark, computed):
    flipped = features(spark, _with_label(CHARACTERS, "c", 1))
    assert flipped[("c", False)].equals(computed[("c", False)])
    assert flipped[("c", True)].equals(computed[("c", True)])
    with_test_label = features(spark, _with_label(CHARACTERS, "d", 1))
    for key in computed:
        assert with_test_label[key].equals(computed[key])


def test_arrival_time_is_deterministic_per_character(spark):
    frame = pd.DataFrame({"page_id": ["x", "y"], "alive": [1, 0]})
    for column in FEATURE_COLUMNS:
        frame[column] = None
    schema = ", ".join(
        ["page_id string", "alive int"]
        + [
            f"{c} {'double' if c in ('height_m', 'weight_kg') else 'string'}"
            for c in FEATURE_COLUMNS
        ]
    )
    train = spark.createDataFrame(frame.astype(object), schema)
    first = build_timeline(train, train.limit(0), ARRIVAL, FOLDS).toPandas().set_index("page_id")
    alone = build_timeline(train.where("page_id = 'x'"), train.limit(0), ARRIVAL, FOLDS).toPandas()
    assert alone["event_timestamp"].iloc[0] == first.loc["x", "event_timestamp"]
    assert (
        first["event_timestamp"]
        .between(pd.Timestamp("2024-01-01"), pd.Timestamp("2026-01-01"))
        .all()
    )


def test_duplicated_key_stops_the_run_naming_table_key_and_column(spark):
    rows = spark.createDataFrame(
        [("a", datetime(2025, 1, 1)), ("a", datetime(2025, 1, 1))],
        "page_id string, event_timestamp timestamp",
    )
    with pytest.raises(
        FeatureTableError, match=r"'character_group_features'.*page_id='a'.*event_timestamp"
    ):
        check_feature_table(rows, "character_group_features")


def test_future_timestamp_stops_the_run_naming_table_key_and_column(spark):
    rows = spark.createDataFrame(
        [("a", datetime(2025, 1, 1)), ("b", datetime(2030, 1, 1))],
        "page_id string, event_timestamp timestamp",
    )
    with pytest.raises(
        FeatureTableError, match=r"'character_attributes'.*page_id='b'.*'event_timestamp'.*future"
    ):
        check_feature_table(rows, "character_attributes", datetime(2026, 1, 1, tzinfo=UTC))
