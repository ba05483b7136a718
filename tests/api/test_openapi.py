"""The API description is complete and well-formed, without I/O: every route the edge serves
has an operation in /openapi.json and every operation has a route; the document is valid
OpenAPI 3.1; who must authenticate follows the middleware's own rules."""

from __future__ import annotations

import jsonschema_rs
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31
from starlette.applications import Starlette
from starlette.routing import Route

from alertstream.config import Settings
from alertstream.ingest.api.openapi import access, build_document, coverage, endpoints
from alertstream.ingest.app import create_app


@pytest.fixture(scope="module")
def app() -> Starlette:
    # Nothing is opened until a request needs it: no broker, no database.
    return create_app(Settings.from_env({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}), publisher=object())


def test_every_route_is_documented_and_every_operation_routed(app):
    undocumented, unrouted = coverage(app.routes)
    assert undocumented == [], f"describe these in ingest/api/openapi_operations.py: {undocumented}"
    assert unrouted == [], f"these are documented but the edge does not serve them: {unrouted}"


def test_a_new_route_without_description_is_caught(app):
    extra = [*app.routes, Route("/brand-new/{thing}", lambda request: None, methods=["PUT"])]
    assert coverage(extra)[0] == [("PUT", "/brand-new/{thing}")]
    op = build_document(extra)["paths"]["/brand-new/{thing}"]["put"]
    assert op["x-undocumented"] is True  # served truthfully, never hidden
    assert op["parameters"][0]["name"] == "thing"


def test_the_document_is_valid_openapi_31(app):
    document = build_document(app.routes)
    errors = [e.message for e in jsonschema_rs.Draft202012Validator(OPENAPI_31).iter_errors(document)]
    assert errors == []
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_path_parameters_come_from_the_route_templates(app):
    document = build_document(app.routes)
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            names = [p["name"] for p in op["parameters"] if p["in"] == "path"]
            assert names == [seg.strip("{}") for seg in path.split("/") if seg.startswith("{")], (method, path)


def test_security_follows_the_middleware(app):
    paths = build_document(app.routes)["paths"]
    assert paths["/healthz"]["get"]["security"] == []
    assert paths["/alerts/webhook/"]["get"]["security"] == []
    assert paths["/alerts/webhook/"]["post"]["security"] != []
    assert paths["/openapi.json"]["get"]["security"] != []  # a map of the API is for key holders
    assert paths["/console/incidents"]["get"]["security"] == [{"consoleSession": []}]
    assert paths["/console/login"]["post"]["security"] == []
    keyed = [(m, p) for (m, p) in endpoints(app.routes) if access(m, p) == "key"]
    for method, path in keyed:
        responses = paths[path][method.lower()]["responses"]
        assert {"401", "403", "429"} <= set(responses), (method, path)
    assert "429" not in paths["/readyz"]["get"]["responses"]  # probes are never throttled


# Two answers report a result rather than refuse: not ready (with the failing checks), and a
# channel test the receiver failed (with what it answered).
RESULT_NOT_ERROR = {("/readyz", "503"), ("/channels/{name}/test", "502")}


def test_every_json_error_has_the_error_shape(app):
    for path, operations in build_document(app.routes)["paths"].items():
        for method, op in operations.items():
            for status, response in op["responses"].items():
                media = response.get("content", {}).get("application/json")
                if status.startswith(("4", "5")) and media and (path, status) not in RESULT_NOT_ERROR:
                    assert media["schema"] == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_the_console_can_be_left_out(app):
    settings = Settings.from_env({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "ALERTSTREAM_CONSOLE": "off"})
    paths = build_document(create_app(settings, publisher=object()).routes)["paths"]
    assert not [p for p in paths if p.startswith("/console")]
    assert "/incidents/" in paths
