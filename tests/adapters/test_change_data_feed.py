"""Change Data Feed on the feature tables (what TRIGGERED online publishing requires),
switched on through Spark Connect's SQL as on Databricks."""

import uuid

from marvel_mlops.adapters.feature_engineering import CHANGE_DATA_FEED, ensure_change_data_feed


def _property(spark, table: str) -> str:
    return str(spark.sql(f"SHOW TBLPROPERTIES {table} ('{CHANGE_DATA_FEED}')").first()["value"])


def test_change_data_feed_is_switched_on_once_for_a_table_without_it(spark):
    table = f"default.features_{uuid.uuid4().hex[:8]}"
    spark.range(3).write.saveAsTable(table)
    try:
        assert _property(spark, table) != "true"
        assert ensure_change_data_feed(spark, table) is True
        assert _property(spark, table) == "true"
        assert ensure_change_data_feed(spark, table) is False  # no second metadata commit
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {table}")
