"""Databricks Feature Engineering in Unity Catalog (``databricks-feature-engineering``).

The Databricks home of the feature store: feature tables are Unity Catalog Delta tables
with a primary key (``page_id``) and a timeseries column (``event_timestamp``); training
sets come from ``create_training_set`` with ``FeatureLookup(..., timestamp_lookup_key=
"event_timestamp")``; publishing goes to a Databricks Online Feature Store
(``adapters.online_store``, through databricks-sdk). The package exists on Databricks runtimes (and is imported only there).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from marvel_mlops.adapters.spark import get_spark
from marvel_mlops.features_store.definitions import TIMESTAMP_COLUMN

CHANGE_DATA_FEED = "delta.enableChangeDataFeed"


def client() -> Any:
    """A ``FeatureEngineeringClient`` (Databricks runtimes only)."""
    from databricks.feature_engineering import FeatureEngineeringClient

    return FeatureEngineeringClient()


def write_feature_table(table: str, frame: Any, description: str) -> None:
    """Creates the feature table on its first write, then merges on (page_id, event_timestamp).

    Change Data Feed is kept on (set after creation, or on a table created before this
    code): publishing to the online store in ``TRIGGERED`` mode syncs only the changes and
    requires it.
    """
    fe, spark = client(), get_spark()
    if not spark.catalog.tableExists(table):
        # every table of this kind (feature tables, the character_labels spine) is keyed by
        # (page_id, event_timestamp)
        fe.create_table(
            name=table,
            primary_keys=["page_id", TIMESTAMP_COLUMN],
            timeseries_column=TIMESTAMP_COLUMN,
            df=frame,
            description=description,
        )
    else:
        fe.write_table(name=table, df=frame, mode="merge")
    ensure_change_data_feed(spark, table)


def ensure_change_data_feed(spark: Any, table: str) -> bool:
    """Switches Change Data Feed on when it is off (one metadata commit); True if it did."""
    shown = spark.sql(f"SHOW TBLPROPERTIES {table} ('{CHANGE_DATA_FEED}')").first()
    if shown is not None and str(shown["value"]).lower() == "true":
        return False
    spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ({CHANGE_DATA_FEED} = true)")
    return True


class DatabricksLookup:
    """``FeatureLookup`` (features_store.lookup) on Unity Catalog feature tables."""

    def __init__(self, tables: dict[str, str]) -> None:
        self.tables = dict(tables)

    def training_set(self, spine: pd.DataFrame, features: dict[str, list[str]]) -> pd.DataFrame:
        """``create_training_set`` with point-in-time lookups on ``event_timestamp``."""
        from databricks.feature_engineering import FeatureLookup

        lookups = [
            FeatureLookup(
                table_name=self.tables[name],
                feature_names=columns,
                lookup_key="page_id",
                timestamp_lookup_key=TIMESTAMP_COLUMN,
            )
            for name, columns in features.items()
        ]
        spark = get_spark()
        training = client().create_training_set(
            df=spark.createDataFrame(spine), feature_lookups=lookups, label=None
        )
        order = spine[["page_id"]].reset_index().rename(columns={"index": "_row"})
        rows = training.load_df().toPandas().merge(order, on="page_id")
        return rows.sort_values("_row").drop(columns="_row").reset_index(drop=True)

    def latest_features(self, features: dict[str, list[str]]) -> Any:
        """Each key's latest row of each named table, named columns (a Spark DataFrame)."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        spark, merged = get_spark(), None
        latest = Window.partitionBy("page_id").orderBy(F.col(TIMESTAMP_COLUMN).desc())
        for name, columns in features.items():
            rows = spark.table(self.tables[name]).where(
                F.col(TIMESTAMP_COLUMN) <= F.current_timestamp()
            )
            rows = rows.withColumn("_n", F.row_number().over(latest)).where("_n = 1")
            rows = rows.select("page_id", *columns)
            merged = rows if merged is None else merged.join(rows, "page_id", "full_outer")
        return merged

    def arrival_features(self, frame: pd.DataFrame, features: dict[str, list[str]]) -> Any:
        """``frame``'s rows with the named features as of each key's arrival."""
        from pyspark.sql import functions as F

        from marvel_mlops.features_store.lookup import arrival_spine

        first = get_spark().table(self.tables["character_attributes"]).groupBy("page_id")
        arrivals = first.agg(F.min(TIMESTAMP_COLUMN).alias(TIMESTAMP_COLUMN)).toPandas()
        return self.training_set(arrival_spine(frame, arrivals), features)

    def freshness(self) -> dict[str, Any]:
        """The offline versions; staleness is not checked here: every feature_engineering
        run publishes again (``TRIGGERED``), so the online tables lag the offline ones only
        while the sync pipelines run."""
        spark = get_spark()
        missing = [t for t in self.tables.values() if not spark.catalog.tableExists(t)]
        if missing:
            return {"stale": f"feature tables missing: {', '.join(missing)}", "published": None}
        return {"stale": None, "published": None, "offline": self.versions()}

    def versions(self) -> dict[str, dict[str, Any]]:
        """Each table's current Delta version (``DESCRIBE HISTORY``)."""
        spark = get_spark()
        out = {}
        for name, table in self.tables.items():
            row = spark.sql(f"DESCRIBE HISTORY {table} LIMIT 1").first()
            out[name] = {"table": table, "version": int(row["version"])}
        return out

    def publish(self, client: Any, store: Any) -> dict[str, Any]:
        """Creates the online store when missing, then publishes every table to it
        (``adapters.online_store``, through ``databricks-sdk``)."""
        from marvel_mlops.adapters.online_store import ensure_online_store, publish_tables

        outcome = ensure_online_store(client, store)
        return {**outcome, "published": publish_tables(client, store, self.tables)}
