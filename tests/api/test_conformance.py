"""Schemathesis against the running edge (the session `pipeline`: uvicorn edge, worker, broker,
PostgreSQL): every operation of /openapi.json, with the session's API key and a console
session, must never answer a 5xx it does not document and never answer outside its schema.

The pipeline is shared with the rest of the session, so the fuzzer is kept from changing what
other tests rely on (`make_inert`): its silences carry a matcher no real alert has, it never
activates an analysis provider or toggles a channel it did not create, and it never stores a
channel (stored channels join every default lane; their lifecycle runs on an edge of its own).
Examples per operation are bounded (ALERTSTREAM_FUZZ_EXAMPLES, default 25; deterministic unless
ALERTSTREAM_FUZZ_RANDOM=1) so the module takes well under a minute on two cores.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from alertstream.config import Settings
from alertstream.ingest.api.openapi import build_document
from alertstream.ingest.app import create_app
from alertstream.ingest.console.passwords import hash_password
from alertstream.ingest.console.session import COOKIE, csrf_token
from alertstream.storage.console_users import create_user

from .. import components
from ..components import key_headers, new_api_key, pipeline_env, receiver

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("ALERTSTREAM_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
# Values that broke handlers before (or break them typically): NUL, which PostgreSQL text and
# jsonb refuse; digits int() refuses although str.isdigit() accepts them; durations and times
# past what datetime holds; numbers past what a float or a bigint holds.
HOSTILE = {
    "string": ["\x00", "a\x00b", "\u00b2", "\u0661\u0662", "99999999999999999999d", "99999999999999999999",
               "-1", "1e309", "NaN", "0001-01-01T00:00:00", "9999-12-31T23:59:59+14:00", "\\", '"', "%", " ",
               "\u00e9\u6f22", "x" * 300],
    "integer": [10**20, -(10**20), 2**63, -1, 0],
    "number": [1e308, -1e308, 1e-308, 0],
}
CONFIG = schemathesis.Config.from_dict({
    # 502 is a documented answer (a channel's receiver failed its test); any other 5xx fails.
    "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "502"]}},
    "dictionaries": {f"hostile-{kind}": {"values": values} for kind, values in HOSTILE.items()},
    "generation": {
        "with-security-parameters": False,
        "max-examples": EXAMPLES,
        "deterministic": os.environ.get("ALERTSTREAM_FUZZ_RANDOM") != "1",
        "dictionaries": {kind: {"dictionary": f"hostile-{kind}", "probability": 0.25} for kind in HOSTILE},
    },
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": False}},
    # The console is rate limited per client address (600/min under /console/, shared through Redis with
    # every session on this machine): its pages get a few examples, no exhaustive coverage phase.
    "operations": [{"include-path-regex": "^/console/", "generation": {"max-examples": 6},
                    "phases": {"coverage": {"enabled": False}}}],
})
INERT = f'openapi_fuzz="{uuid.uuid4().hex}"'  # a label no real alert carries: the silence matches nothing
FUZZ = "fuzz-"
_WEBHOOK_BODY = {"name": "HostileParameterProbe", "severity": "info", "labels": {"instance": "fuzz-host"}}


def make_inert(case: schemathesis.Case) -> None:
    """Keep a generated request from changing what other tests of the session see."""
    key, body, path_params = (case.method.upper(), case.operation.path), case.body, case.path_parameters or {}
    if key == ("POST", "/silences/") and isinstance(body, dict) and isinstance(body.get("matchers"), list):
        body["matchers"] = [*body["matchers"], INERT]
    elif key == ("POST", "/console/silences") and isinstance(body, dict):
        body["matchers"] = f"{body.get('matchers', '')}\n{INERT}"
    elif key == ("POST", "/intelligence/providers/") and isinstance(body, dict):
        if isinstance(body.get("name"), str):
            body["name"] = FUZZ + body["name"]
        if body.get("activate") is True:
            body["activate"] = False
    elif key == ("POST", "/channels/") and isinstance(body, dict):
        # A stored channel joins every default lane at once, and a test send goes wherever its URL
        # points: every target is a name that cannot resolve (RFC 2606), and the test send must pass
        # before anything is stored, so nothing is. test_stored_channels_match_their_schemas covers 201.
        body["test"] = True
        kind = body.get("type") if isinstance(body.get("type"), str) else ""
        target = {"email": "host", "pagerduty": "base_url", "opsgenie": "base_url"}.get(kind, "url")
        if isinstance(body.get("settings"), dict):  # a copy: generated values may share objects
            body["settings"] = {**body["settings"],
                                target: "fuzz.invalid" if target == "host" else "https://fuzz.invalid/hook"}
    elif key == ("POST", "/intelligence/providers/{name}/activate"):
        path_params["name"] = f"absent-{path_params.get('name', '')}"  # never switches the session's provider
    elif key[1] in ("/channels/{name}/disable", "/channels/{name}/enable"):
        path_params["name"] = f"{FUZZ}{path_params.get('name', '')}"


@pytest.fixture(scope="module")
def console_cookie(pipeline: Any) -> str:
    """A console session of a user made for this module (raw session token)."""
    name, password = f"fuzz-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    create_user(pipeline.database_url, name, hash_password(password))
    with httpx.Client(base_url=pipeline.base_url, timeout=15) as client:
        page = client.get("/console/login")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        client.post("/console/login", data={"csrf": csrf, "name": name, "password": password})
        token = client.cookies.get(COOKIE)
    assert token, "logging in to the console failed"
    return token


def offline_document() -> dict[str, Any]:
    """The document the edge serves, built from the same route table without starting anything
    (the schema must exist when pytest collects, before the session's edge is up)."""
    app = create_app(Settings.from_env({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}), publisher=object())
    return build_document(app.routes)


schema = schemathesis.openapi.from_dict(offline_document(), config=CONFIG)


def test_the_edge_serves_this_document_and_only_to_key_holders(pipeline):
    served = httpx.get(f"{pipeline.base_url}/openapi.json", headers=pipeline.headers, timeout=15)
    assert served.status_code == 200
    assert served.json()["paths"] == offline_document()["paths"]
    assert httpx.get(f"{pipeline.base_url}/openapi.json", timeout=15).status_code == 401


def call(case: schemathesis.Case, pipeline: Any, console_cookie: str) -> schemathesis.Response:
    make_inert(case)
    headers = {**pipeline.headers, "Cookie": f"{COOKIE}={console_cookie}"}
    if case.method.upper() == "POST" and case.operation.path.startswith("/console/") and isinstance(case.body, dict) \
            and case.operation.path not in ("/console/login", "/console/logout"):
        case.body["csrf"] = csrf_token(console_cookie)  # a form posted from a page carries its CSRF token
    return case.call_and_validate(base_url=pipeline.base_url, headers=headers, checks=CHECKS, timeout=20,
                                  allow_redirects=False)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_edge_conforms_to_its_description(case: schemathesis.Case, pipeline: Any, console_cookie: str) -> None:
    call(case, pipeline, console_cookie)


# Schemathesis never puts NUL in a path parameter (many servers route it elsewhere) and draws
# the values above only now and then: here every path and query parameter gets each of them once.
PARAMETER_VALUES = ["\x00", "a\x00b", "\u00b2", "99999999999999999999d", "x" * 300, "\u00e9"]
OPERATIONS = [(path, method) for path, methods in schema.raw_schema["paths"].items() for method, op in methods.items()
              if any(p["in"] in ("path", "query") for p in op.get("parameters", []))]


def _valid(parameter: dict[str, Any]) -> str:
    allowed = parameter["schema"].get("enum")
    return str(allowed[0]) if allowed else "x"


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_every_parameter_refuses_hostile_values(path: str, method: str, pipeline: Any, console_cookie: str) -> None:
    operation = schema[path][method.upper()]
    spec = schema.raw_schema["paths"][path][method]
    parameters = [p for p in spec["parameters"] if p["in"] in ("path", "query")]
    base = {"path": {p["name"]: _valid(p) for p in parameters if p["in"] == "path"},
            "query": {p["name"]: _valid(p) for p in parameters if p["in"] == "query" and p.get("required")}}
    media = next(iter(spec.get("requestBody", {}).get("content", {})), None)
    failures = []
    for parameter in parameters:
        for value in PARAMETER_VALUES:
            where = {**base, parameter["in"]: {**base[parameter["in"]], parameter["name"]: value}}
            body = (_WEBHOOK_BODY if media == "application/json" and path.startswith("/alerts/") else
                    {} if media else schemathesis.core.NOT_SET)
            case = operation.Case(
                path_parameters={k: quote(v, safe="") for k, v in where["path"].items()}, query=where["query"],
                body=body, media_type=media)
            try:
                call(case, pipeline, console_cookie)
            except (Failure, FailureGroup) as exc:
                failures.append(f"{parameter['name']}={value[:20]!r}: {str(exc).splitlines()[0]}")
    assert failures == [], "\n".join(failures)


def _wait(probe: Any, timeout: float = 45) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError("the pipeline never produced what this test waits for")


def test_real_resources_match_their_schemas(pipeline: Any, console_cookie: str) -> None:
    """The fuzzer mostly meets 4xx answers (it cannot guess ids): here real objects, made by a real
    alert through the worker, go through every read and action, and each answer is checked the same way."""
    marker = uuid.uuid4().hex[:10]
    name = f"OpenAPIWalk-{marker}"

    def step(method: str, path: str, status: int, *, path_parameters: dict[str, str] | None = None,
             query: dict[str, str] | None = None, body: Any = schemathesis.core.NOT_SET) -> Any:
        spec = schema.raw_schema["paths"][path][method.lower()]
        media = next(iter(spec.get("requestBody", {}).get("content", {})), None)
        case = schema[path][method].Case(
            path_parameters={k: quote(v, safe="") for k, v in (path_parameters or {}).items()}, query=query or {},
            body=body, media_type=None if body is schemathesis.core.NOT_SET else media)
        response = call(case, pipeline, console_cookie)
        assert response.status_code == status, (method, path, response.status_code, response.text[:300])
        media_types = response.headers.get("content-type", [])  # schemathesis keeps every value of a header
        return response.json() if any("json" in m for m in media_types) else response.text

    step("POST", "/alerts/webhook/{driver}/", 202, path_parameters={"driver": "generic"},
         body={"name": name, "severity": "warning", "labels": {"instance": f"walk-{marker}"}})
    incident = _wait(lambda: [i for i in step("GET", "/incidents/", 200, query={"since": "1h", "limit": "1000"})
                              ["incidents"] if i["title"].startswith(name)])[0]
    iid = {"incident_id": incident["incident_id"]}
    deliveries = _wait(lambda: step("GET", "/deliveries/", 200, query={"incident": iid["incident_id"]})["deliveries"])
    _wait(lambda: step("GET", "/incidents/{incident_id}", 200, path_parameters=iid)["refs"])
    step("POST", "/incidents/{incident_id}/{action}", 202, path_parameters={**iid, "action": "note"},
         body={"note": "walked"})
    _wait(lambda: step("GET", "/intelligence/recommendations/", 200, query=iid) if
          httpx.get(f"{pipeline.base_url}/intelligence/recommendations/", params=iid, headers=pipeline.headers,
                    timeout=15).status_code == 200 else None)
    step("GET", "/intelligence/health/", 200, query={"window": "1h"})
    step("POST", "/intelligence/providers/", 201, body={"name": f"walk-{marker}", "kind": "local"})
    step("GET", "/intelligence/providers/", 200)
    step("POST", "/deliveries/{key}/retry", 409, path_parameters={"key": deliveries[0]["delivery_key"]})
    silence = step("POST", "/silences/", 201, body={"matchers": [f'alertname="{name}"'], "duration": "1h"})
    sid = {"silence_id": silence["silence_id"]}
    step("GET", "/silences/{silence_id}", 200, path_parameters=sid)
    step("GET", "/silences/", 200, query={"all": "1"})
    step("DELETE", "/silences/{silence_id}", 200, path_parameters=sid)
    step("POST", "/silences/{silence_id}/expire", 409, path_parameters=sid)
    step("POST", "/channels/{name}/test", 200, path_parameters={"name": "default-webhook"})
    step("GET", "/channels/", 200)
    for path in ("/healthz", "/readyz", "/alerts/webhook/", "/openapi.json", "/console/incidents", "/console/silences",
                 "/console/channels", "/console/deliveries", "/console/incidents/counts"):
        step("GET", path, 200)
    for path in ("/console/incidents/{incident_id}", "/console/incidents/{incident_id}/live"):
        step("GET", path, 200, path_parameters=iid)
    step("POST", "/console/incidents/{incident_id}/{action}", 303, path_parameters={**iid, "action": "note"},
         body={"note": "walked in the console"})


async def test_stored_channels_match_their_schemas(tmp_path: Path) -> None:
    """A stored channel joins every default lane of every worker on its database, so its lifecycle
    runs on an edge of its own: the same create_app, a fresh database, its own receiver."""
    with receiver() as sink, components.test_database(tmp_path) as url:
        env = pipeline_env("127.0.0.1:1", url, tmp_path, ALERTSTREAM_WEBHOOK_URL=sink.url)
        app = create_app(Settings.from_env(env), publisher=object())  # nothing here publishes
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=transport, base_url="http://edge", headers=key_headers(new_api_key(url))) as client:

            async def step(method: str, path: str, status: int, name: str = "", body: Any = None) -> None:
                response = await client.request(method, path.replace("{name}", name), json=body)
                case = schema[path][method].Case(
                    path_parameters={"name": name} if name else {}, media_type="application/json" if body else None,
                    body=schemathesis.core.NOT_SET if body is None else body)
                case.validate_response(response, checks=CHECKS)
                assert response.status_code == status, response.text

            channel = {"name": "walk", "type": "webhook", "settings": {"url": sink.url}}
            await step("POST", "/channels/", 201, body=channel)  # after a real test send to the receiver
            await step("POST", "/channels/", 409, body=channel)
            await step("GET", "/channels/", 200)
            await step("POST", "/channels/{name}/disable", 200, "walk")
            await step("POST", "/channels/{name}/enable", 200, "walk")
            await step("POST", "/channels/{name}/test", 200, "walk")
            sink.status = 500
            await step("POST", "/channels/{name}/test", 502, "walk")
