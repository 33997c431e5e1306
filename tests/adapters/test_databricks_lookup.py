"""The Databricks feature lookup's Spark-only reads, through Spark Connect (as on serverless).

``DatabricksLookup.latest_features`` is what batch scoring by key reads on Databricks: each
key's latest row at or before now of each feature table, the tables joined by key. Here the
tables are local Spark tables; on Databricks they are the Unity Catalog feature tables.
"""

import uuid
from datetime import UTC, datetime, timedelta

from marvel_mlops.adapters.feature_engineering import DatabricksLookup

NOW = datetime.now(UTC).replace(microsecond=0)


def _table(spark, rows: list[tuple], columns: str) -> str:
    name = f"default.lookup_{uuid.uuid4().hex[:8]}"
    spark.createDataFrame(rows, columns).write.saveAsTable(name)
    return name


def test_latest_features_take_each_keys_newest_row_up_to_now_across_tables(spark):
    day = timedelta(days=1)
    attributes = _table(
        spark,
        [
            ("a", NOW - 3 * day, "Earth-616", 1.8),
            ("a", NOW - day, "Earth-1610", 1.9),  # newer: wins
            ("a", NOW + day, "Future", 2.0),  # not yet true: never used
            ("b", NOW - 2 * day, "Earth-616", None),
        ],
        "page_id string, event_timestamp timestamp, universe string, height_m double",
    )
    groups = _table(
        spark,
        [("a", NOW - 2 * day, 0.7), ("c", NOW - day, 0.4)],
        "page_id string, event_timestamp timestamp, universe_alive_rate double",
    )
    try:
        lookup = DatabricksLookup({"character_attributes": attributes, "groups": groups})
        found = lookup.latest_features(
            {"character_attributes": ["universe", "height_m"], "groups": ["universe_alive_rate"]}
        )
        rows = {r["page_id"]: r.asDict() for r in found.collect()}
    finally:
        for table in (attributes, groups):
            spark.sql(f"DROP TABLE IF EXISTS {table}")
    assert set(found.columns) == {"page_id", "universe", "height_m", "universe_alive_rate"}
    assert rows["a"] == {"page_id": "a", "universe": "Earth-1610", "height_m": 1.9,
                         "universe_alive_rate": 0.7}  # fmt: skip
    assert rows["b"]["universe"] == "Earth-616" and rows["b"]["universe_alive_rate"] is None
    assert rows["c"]["universe"] is None and rows["c"]["universe_alive_rate"] == 0.4
    assert len(rows) == 3
