"""Databricks Feature Engineering in Unity Catalog (``databricks-feature-engineering``).

The Databricks home of the feature store: feature tables are Unity Catalog Delta tables
with a primary key (``page_id``) and a timeseries column (``event_timestamp``); training
sets come from ``create_training_set`` with ``FeatureLookup(..., timestamp_lookup_key=
"event_timestamp")``; publishing goes to a Databricks Online Feature Store
(``adapters.online_store``, through databricks-sdk); a registered model is logged with
``log_model`` and the feature spec of ``serving_training_set``, so that Model Serving looks
its features up for requests that carry only ``page_id`` and ``event_timestamp``. The package is installed by the
Databricks jobs' environments and, for the offline tests, by the dev dependencies; it is
imported only when one of these functions runs.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from marvel_mlops.adapters.spark import get_spark
from marvel_mlops.data.schema import LABEL_COLUMN
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


def feature_lookups(
    lookups: dict[str, list[str]], timestamp_lookup_key: str | None = TIMESTAMP_COLUMN
) -> list[Any]:
    """``FeatureLookup`` per feature table (full name → columns), by ``page_id`` and, for
    training sets and models, as of each row's ``timestamp_lookup_key`` (the package refuses
    a time series table without one there); ``None`` for a Feature Serving spec."""
    from databricks.feature_engineering import FeatureLookup

    return [
        FeatureLookup(
            table_name=table,
            feature_names=columns,
            lookup_key="page_id",
            timestamp_lookup_key=timestamp_lookup_key,
        )
        for table, columns in lookups.items()
    ]


def serving_training_set_arguments(
    rows: pd.DataFrame, lookups: dict[str, list[str]], now: pd.Timestamp
) -> dict[str, Any]:
    """What ``serving_training_set`` passes to ``create_training_set`` (spine as pandas).

    The spine is one training row (key and label) as of ``now``: it only shapes the spec
    and the input example. ``event_timestamp`` is a lookup key, not a model input: a request
    to Model Serving carries ``page_id`` and the time it asks about.
    """
    spine = rows[["page_id", LABEL_COLUMN]].head(1).assign(**{TIMESTAMP_COLUMN: now})
    return {
        "df": spine,
        "feature_lookups": feature_lookups(lookups),
        "label": LABEL_COLUMN,
        "exclude_columns": [TIMESTAMP_COLUMN],
    }


def serving_training_set(rows: pd.DataFrame, lookups: dict[str, list[str]]) -> Any:
    """The ``TrainingSet`` whose feature spec a registered model carries (Databricks), so
    that Model Serving looks the features up online for ``page_id`` + ``event_timestamp``
    requests. The model itself was trained on ``DatabricksLookup.training_set``'s rows,
    with the same lookups."""
    from pyspark.sql import functions as F

    spark = get_spark()
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    arguments = serving_training_set_arguments(rows, lookups, now)
    # as the feature tables store it (TIMESTAMP or TIMESTAMP_NTZ): the as-of join needs equal types
    stored = spark.table(next(iter(lookups))).schema[TIMESTAMP_COLUMN].dataType
    spine = spark.createDataFrame(arguments.pop("df"))
    spine = spine.withColumn(TIMESTAMP_COLUMN, F.col(TIMESTAMP_COLUMN).cast(stored))
    return client().create_training_set(df=spine, **arguments)


def log_model_with_features(
    training_set: Any, python_model: Any, saved: dict[str, Any], outputs: Any
) -> Any:
    """``FeatureEngineeringClient.log_model``: the pyfunc (saved with ``saved``: code paths,
    requirements, model config) packaged with ``training_set``'s feature spec, in the
    active run, declaring ``outputs`` (the package would otherwise derive them from the
    label). Returns MLflow's ``ModelInfo``; the caller registers it."""
    import mlflow

    return client().log_model(
        model=python_model,
        artifact_path="model",
        flavor=mlflow.pyfunc,
        training_set=training_set,
        infer_input_example=True,  # a key-and-time request, from the spine's first row
        output_schema=outputs,
        **saved,
    )


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
        lookups = feature_lookups({self.tables[n]: cols for n, cols in features.items()})
        training = client().create_training_set(
            df=get_spark().createDataFrame(spine), feature_lookups=lookups, label=None
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
