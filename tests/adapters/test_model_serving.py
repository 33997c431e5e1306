"""Databricks Model Serving through the real databricks-sdk against a local stub API.

The stub answers like the serving-endpoints REST API and records every request; the
tests assert what the real client sent.
"""

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from databricks.sdk import WorkspaceClient

from marvel_mlops.adapters.model_serving import EndpointSpec, ensure_endpoint

PREFIX = "/api/2.0/serving-endpoints"


class StubServingApi:
    """A tiny in-memory serving-endpoints API."""

    def __init__(self):
        self.endpoints: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict | None]] = []

    def handle(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:  # noqa: PLR0911
        if not path.startswith(PREFIX):  # e.g. the SDK's host metadata probe
            return 404, {"error_code": "NOT_FOUND", "message": path}
        self.requests.append((method, path, body))
        parts = path[len(PREFIX) :].strip("/").split("/")
        if method == "POST" and path == PREFIX:
            endpoint = {
                "name": body["name"],
                "config": body["config"],
                "ai_gateway": body.get("ai_gateway"),
                "state": {"ready": "READY"},
            }
            self.endpoints[body["name"]] = endpoint
            return 200, endpoint
        name = parts[0]
        if name not in self.endpoints:
            return 404, {
                "error_code": "RESOURCE_DOES_NOT_EXIST",
                "message": f"Endpoint {name} does not exist",
            }
        endpoint = self.endpoints[name]
        if method == "GET":
            return 200, endpoint
        if method == "PUT" and parts[1:] == ["config"]:
            endpoint["config"] = {**endpoint["config"], **body}
            return 200, endpoint
        if method == "PUT" and parts[1:] == ["ai-gateway"]:
            endpoint["ai_gateway"] = body
            return 200, body
        return 400, {"error_code": "BAD_REQUEST", "message": f"{method} {path}"}


@contextmanager
def serving(api):
    """``api.handle`` behind a local HTTP server; sets ``api.url``."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, payload = api.handle(self.command, self.path.split("?")[0], body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = _serve

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()


@pytest.fixture
def stub():
    with serving(StubServingApi()) as api:
        yield api


def client(stub) -> WorkspaceClient:
    return WorkspaceClient(host=stub.url, token="dapi-test-token", auth_type="pat")


SPEC = EndpointSpec(
    name="marvel",
    model_name="dev.marvel.model",
    champion_version="3",
    inference_table=("dev", "marvel", "marvel_endpoint"),
)


def writes(stub):
    return [(m, p, b) for m, p, b in stub.requests if m != "GET"]


def test_creates_the_endpoint_with_champion_and_inference_table(stub):
    result = ensure_endpoint(client(stub), SPEC)
    assert result["action"] == "created"
    [(method, path, body)] = writes(stub)
    assert (method, path) == ("POST", PREFIX)
    [entity] = body["config"]["served_entities"]
    assert entity["entity_name"] == "dev.marvel.model" and entity["entity_version"] == "3"
    assert body["config"]["traffic_config"]["routes"] == [
        {"served_entity_name": "champion", "traffic_percentage": 100}
    ]
    table = body["ai_gateway"]["inference_table_config"]
    assert table == {
        "catalog_name": "dev",
        "schema_name": "marvel",
        "table_name_prefix": "marvel_endpoint",
        "enabled": True,
    }


def test_nothing_is_sent_when_nothing_changed(stub):
    ensure_endpoint(client(stub), SPEC)
    stub.requests.clear()
    assert ensure_endpoint(client(stub), SPEC)["action"] == "unchanged"
    assert writes(stub) == [] and [m for m, _, _ in stub.requests] == ["GET"]


def test_ab_split_updates_served_entities_and_routes(stub):
    ensure_endpoint(client(stub), SPEC)
    stub.requests.clear()
    ab = EndpointSpec(**{**SPEC.__dict__, "challenger_version": "4", "challenger_share": 0.2})
    assert ensure_endpoint(client(stub), ab)["action"] == "updated"
    [(method, path, body)] = writes(stub)
    assert (method, path) == ("PUT", f"{PREFIX}/marvel/config")
    versions = {e["name"]: e["entity_version"] for e in body["served_entities"]}
    assert versions == {"champion": "3", "challenger": "4"}
    routes = {
        r["served_entity_name"]: r["traffic_percentage"] for r in body["traffic_config"]["routes"]
    }
    assert routes == {"champion": 80, "challenger": 20}


def test_a_new_champion_moves_the_served_version(stub):
    ensure_endpoint(client(stub), SPEC)
    promoted = EndpointSpec(**{**SPEC.__dict__, "champion_version": "5"})
    ensure_endpoint(client(stub), promoted)
    assert stub.endpoints["marvel"]["config"]["served_entities"][0]["entity_version"] == "5"


def test_the_serving_endpoint_dataset_applies_the_deployment_spec(stub, tmp_path):
    """The deployment node's spec, saved through conf/databricks' dataset: real SDK requests."""
    from marvel_mlops.datasets import ModelServingEndpointDataset
    from marvel_mlops.pipelines.deployment.nodes import serving_endpoint_spec
    from marvel_mlops.registry_changes import AliasState
    from tests.pipelines.deployment.test_nodes import ENDPOINT

    endpoint = ENDPOINT | {"inference_table": ["dev", "marvel", "marvel_endpoint"]}
    dataset = ModelServingEndpointDataset(
        filepath=str(tmp_path / "reports/serving_endpoint.json"),
        client_config={"host": stub.url, "token": "dapi-test-token", "auth_type": "pat"},
    )
    nothing = serving_endpoint_spec(AliasState("dev.marvel.model"), endpoint, 0.0)
    dataset.save(nothing)
    assert stub.requests == [] and dataset.load()["action"] == "skipped (no champion)"

    aliases = AliasState("dev.marvel.model", {"champion": "3", "challenger": "4"})
    dataset.save(serving_endpoint_spec(aliases, endpoint, 0.25))
    [(method, path, body)] = writes(stub)
    assert (method, path) == ("POST", PREFIX)
    versions = {e["name"]: e["entity_version"] for e in body["config"]["served_entities"]}
    assert versions == {"champion": "3", "challenger": "4"}
    assert body["ai_gateway"]["inference_table_config"]["catalog_name"] == "dev"
    record = dataset.load()
    assert (record["action"], record["champion_version"]) == ("created", "3")
