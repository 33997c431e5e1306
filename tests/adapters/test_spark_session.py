"""Which Spark session the project uses is configuration: Spark Connect in the tests."""

import pytest

from marvel_mlops.adapters import spark as spark_adapter


def test_the_tests_run_on_spark_connect_where_classic_only_apis_fail(spark):
    assert type(spark).__module__.startswith("pyspark.sql.connect")
    assert spark_adapter.get_spark() is spark
    with pytest.raises(Exception, match="JVM_ATTRIBUTE_NOT_SUPPORTED"):
        spark.sparkContext  # noqa: B018 - the attribute access is what fails on serverless


def test_a_remote_session_gets_only_session_settings(monkeypatch):
    spark_adapter.configure(
        {
            "spark.master": "local[*]",
            "spark.driver.memory": "4g",
            "spark.sql.session.timeZone": "UTC",
            "spark.remote": "sc://127.0.0.1:1",
        }
    )
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    assert spark_adapter.remote_url() == "sc://127.0.0.1:1"
    assert spark_adapter._session_conf(remote=True) == {"spark.sql.session.timeZone": "UTC"}
    classic = spark_adapter._session_conf(remote=False)
    assert classic["spark.master"] == "local[*]" and "spark.remote" not in classic
    spark_adapter.configure({})
    monkeypatch.setenv("SPARK_REMOTE", "sc://127.0.0.1:2")
    assert spark_adapter.remote_url() == "sc://127.0.0.1:2"


def test_yaml_booleans_reach_spark_as_lowercase_strings():
    # PySpark reads spark.sql.execution.arrow.pyspark.enabled with == "true": "True" would
    # silently turn Arrow off in toPandas and createDataFrame.
    spark_adapter.configure(
        {"spark.sql.execution.arrow.pyspark.enabled": True, "spark.ui.enabled": False}
    )
    try:
        assert spark_adapter._session_conf(remote=False) == {
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.ui.enabled": "false",
        }
    finally:
        spark_adapter.configure({})


def test_a_session_started_early_is_the_one_every_thread_gets(spark, monkeypatch, caplog):
    # `kedro run` starts the session on a background thread; a session is "active" only
    # on the thread that built it, so the others must find that one, not build another.
    import logging
    import threading

    monkeypatch.setattr(spark_adapter, "_built", {})
    caplog.set_level(logging.INFO, logger=spark_adapter.__name__)
    conf = {"spark.sql.session.timeZone": "UTC"}
    spark_adapter.start_early()
    spark_adapter.configure(conf)
    early = next(t for t in threading.enumerate() if t.name == "spark-early-start")
    early.join(timeout=60)
    started = spark_adapter._built.get("session")
    assert started is not None

    found: list = []
    other = threading.Thread(target=lambda: found.extend([spark_adapter.get_spark()] * 2))
    other.start()
    other.join(timeout=60)
    assert found == [started, started]
    connecting = [r for r in caplog.records if r.getMessage().startswith("Connecting")]
    assert len(connecting) == 1


def test_configure_starts_nothing_unless_asked(spark, monkeypatch):
    import threading

    monkeypatch.setattr(spark_adapter, "_built", {})
    spark_adapter.configure({})
    assert "spark-early-start" not in [t.name for t in threading.enumerate()]
    assert spark_adapter._built == {}
