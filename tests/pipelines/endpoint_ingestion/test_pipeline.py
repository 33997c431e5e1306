"""endpoint_ingestion as a pipeline slice: SequentialRunner on an in-memory DataCatalog.

The payload is the real-bodies fixture table of tests/monitoring/test_endpoint_log.py (our
server's and MLflow's scoring server's exact request and response bytes, in the documented
inference table schema).
"""

from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from marvel_mlops.data.schema import INFERENCE_LOG_COLUMNS
from marvel_mlops.pipelines.endpoint_ingestion import create_pipeline
from tests.monitoring.test_endpoint_log import ENDPOINT, endpoint  # noqa: F401 - fixture

PARAMS = {"lookback_hours": 0, "endpoint_name": ENDPOINT}


def run(payload, entities, logged) -> dict:
    catalog = DataCatalog(
        {
            "endpoint_payload": MemoryDataset(payload, copy_mode="assign"),
            "served_entities": MemoryDataset(entities, copy_mode="assign"),
            "logged_inference_times": MemoryDataset(logged, copy_mode="assign"),
            "params:endpoint_ingestion": MemoryDataset(PARAMS),
            "inference_log@spark": MemoryDataset(copy_mode="assign"),
            "endpoint_log_rejects": MemoryDataset(copy_mode="assign"),
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)
    return {name: catalog.load(name) for name in ("inference_log@spark", "endpoint_log_rejects")}


def test_first_run_ingests_every_record_and_a_rerun_nothing_new(endpoint):  # noqa: F811
    first = run(endpoint.payload, endpoint.entities, None)
    rows, rejects = first["inference_log@spark"], first["endpoint_log_rejects"]
    assert rows.columns == list(INFERENCE_LOG_COLUMNS)
    assert rows.count() == 3 + 2 + 2 + 3 + 4 + 3
    reject_ids = [r.reject_id for r in rejects.select("reject_id").collect()]
    assert len(reject_ids) == len(set(reject_ids)) > 0
    again = run(endpoint.payload, endpoint.entities, rows.select("timestamp_utc"))
    assert again["inference_log@spark"].count() == 0


def test_no_inference_table_yet_means_nothing_to_ingest(spark):
    result = run(None, None, None)
    assert result["inference_log@spark"].count() == 0
    assert "reject_id" in result["endpoint_log_rejects"].columns
