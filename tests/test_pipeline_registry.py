"""The pipeline registry: five pipelines, and __default__ in a safe order."""

import pytest
from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project

from tests.conftest import PROJECT_ROOT

# Datasets read from the model registry, and the node whose run must precede their load.
REGISTRY_READS = {
    "challenger_model": "training.register_challenger",
    "champion_model": "deployment.apply_deployment",
    "monitored_model": "deployment.apply_deployment",
    # monitoring's baseline is the version the newest deployment record says serves.
    "deployments": "deployment.record_deployment",
}


@pytest.fixture(scope="module")
def registry():
    bootstrap_project(PROJECT_ROOT)
    pipelines.set_requested(None)
    return dict(pipelines)


def test_every_pipeline_is_registered(registry):
    names = {
        "data_processing",
        "feature_engineering",
        "training",
        "evaluation",
        "deployment",
        "demo_traffic",
        "monitoring",
    }
    assert names <= set(registry)
    assert {n.name for n in registry["__default__"].nodes} == {
        n.name for name in names for n in registry[name].nodes
    }


def test_registry_reads_wait_for_the_node_that_sets_the_alias(registry):
    default = registry["__default__"]
    # evaluation compares the challenger with the champion *before* deployment moves it.
    before_deployment = {n.name for n in registry["evaluation"].nodes}
    checked = 0
    for node in default.nodes:
        for dataset, writer in REGISTRY_READS.items():
            if dataset not in node.inputs or dataset in node.outputs:
                continue
            if node.name == writer:
                continue
            if writer == "deployment.apply_deployment" and node.name in before_deployment:
                continue
            upstream = {n.name for n in default.to_nodes(node.name).nodes}
            assert writer in upstream, f"{node.name} may load {dataset} before {writer}"
            checked += 1
    assert checked >= 4


def test_each_stage_is_a_collapsible_modular_pipeline_over_shared_dataset_names(registry):
    """kedro-viz draws each namespace as one modular pipeline; the catalog's names stay."""
    stages = ("data_processing", "training", "evaluation", "deployment", "demo_traffic")
    for stage in (*stages, "endpoint_ingestion", "monitoring"):
        namespaces = {n.namespace for n in registry[stage].nodes}
        assert namespaces <= {stage, None}, f"{stage}: {namespaces}"
        shared = [n.name for n in registry[stage].nodes if n.namespace is None]
        assert shared in ([], ["verify_processed_dataset"]), f"{stage}: {shared}"
    assert "model_registration" in registry["training"].all_outputs()
    assert "model_registration" in registry["evaluation"].inputs()
    assert not any(d.startswith("training.") for d in registry["__default__"].datasets())
