"""What each HTTP operation of the edge takes and answers, keyed by (METHOD, path template).

openapi.py completes each entry from the route table (path parameters, security, the
middleware's 401/403/429/503); an entry here says only what its handler does. Enumerations
come from the code that enforces them, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alertstream.schemas.records import SEVERITIES
from alertstream.storage.deliveries import STATUSES as DELIVERY_STATUSES
from alertstream.storage.incidents import STATUSES as INCIDENT_STATUSES
from alertstream.streams.incidents import ACTIONS

from .. import drivers
from .openapi_schemas import BOOL, INT, NUM, OBJ, STR, Schema, array, full, obj, ref

_REASONS = {
    400: "Bad input; `error` says what is wrong.",
    401: "No API key, or an unknown or revoked one (`WWW-Authenticate`).",
    403: "The API key may not use this path (or send for this source).",
    404: "No such thing.",
    409: "Refused in the current state.",
    413: "The body is over the size limit.",
    415: "Not JSON: send `Content-Type: application/json`.",
    422: "Understood, but refused.",
    429: "Over the rate limit; `Retry-After` says when the window opens.",
    502: "The channel's receiver failed the test message.",
    503: "A dependency (broker, database, key store) does not answer; nothing was done, retry (`Retry-After`).",
}


def error_response(status: int, description: str = "") -> Schema:
    out: Schema = {"description": description or _REASONS[status],
                   "content": {"application/json": {"schema": ref("Error")}}}
    if status in (429, 503):
        out["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait."}}
    return out


def ok(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def html(description: str) -> Schema:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def query(name: str, schema: Schema, description: str, required: bool = False) -> Schema:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def op(summary: str, tag: str, responses: Mapping[int, Schema | str], *, body: Schema | None = None,
       params: list[Schema] | None = None, path_parameters: dict[str, Schema] | None = None,
       description: str = "") -> Schema:
    """An operation; a response given as a string is the JSON error shape with that description."""
    out: Schema = {"summary": summary, "tags": [tag], "responses": {
        str(code): error_response(code, spec) if isinstance(spec, str) else spec for code, spec in responses.items()
    }}
    if description:
        out["description"] = description
    if body is not None:
        out["requestBody"] = body
    if params:
        out["parameters"] = params
    if path_parameters:
        out["path_parameters"] = path_parameters
    return out


def json_body(schema: Schema, required: bool = True, example: Any = None) -> Schema:
    media: Schema = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"required": required, "content": {"application/json": media}}


def form_body(fields: dict[str, Schema]) -> Schema:
    schema = {"type": "object", "properties": {"csrf": {"type": "string"}, **fields}}
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema}}}


TAGS = [{"name": n, "description": d} for n, d in (
    ("webhooks", "Alert intake and probes"), ("incidents", "Incidents and operator actions"),
    ("silences", "Silences and maintenance windows"), ("channels", "Notification channels"),
    ("deliveries", "The delivery ledger"), ("intelligence", "The analysis stage"),
    ("agents", "Host agents"), ("meta", "This description"), ("console", "The web console (HTML)"),
)]

_WEBHOOK_EXAMPLE = {"name": "ExampleDiskFull", "severity": "critical", "labels": {"instance": "example-host-1"}}
_WEBHOOK: dict[int, Schema | str] = {
    202: ok("Published to the broker: one event per alert (none for a payload that carries no alert).",
            ref("Accepted")),
    400: "Malformed JSON, an empty body, a non-object document, a payload no driver recognizes (with a `hint`), "
         "an invalid alert, too many alerts, or a string holding NUL (\\u0000).",
    401: "No API key and no verified source credential, or a source credential that failed.",
    403: "The API key may not send for this source.", 413: "", 415: "",
    503: "The broker did not acknowledge: nothing was accepted; retry (`Retry-After`).",
}
_VENDOR_BODY = json_body({"type": "object", "description": "A vendor's webhook payload (Alertmanager, Grafana, …, "
                          "or the generic format)."}, example=_WEBHOOK_EXAMPLE)
_NAME = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
_ACTION_BODY = json_body(obj([], {"note": {"type": "string", "maxLength": 4000}}), required=False)
_REQUEUED = ok("Handed back to the retry path.", obj(["requeued"], {"requeued": array(STR)}))

OPERATIONS: dict[tuple[str, str], Schema] = {
    ("GET", "/alerts/webhook/"): op("Webhook health and the driver names", "webhooks", {200: ok(
        "Up.", obj(["status", "drivers"], {"status": {"const": "ok"}, "drivers": array(STR)}))}),
    ("POST", "/alerts/webhook/"): op("Send alerts; the vendor format is detected", "webhooks", _WEBHOOK,
                                     body=_VENDOR_BODY),
    ("POST", "/alerts/webhook/{driver}/"): op(
        "Send alerts in a named vendor format", "webhooks", {**_WEBHOOK, 404: "No such driver (`drivers` lists them)."},
        body=_VENDOR_BODY, path_parameters={"driver": {"enum": sorted(drivers.BY_NAME)}}),
    ("GET", "/healthz"): op("The process is up", "webhooks", {200: ok("Up.", obj(["status"], {"status": STR}))}),
    ("GET", "/readyz"): op("The broker and the database answer", "webhooks", {
        200: ok("Ready.", ref("Readiness")), 503: ok("Not ready: `checks` says what fails.", ref("Readiness"))}),
    ("GET", "/openapi.json"): op("This document", "meta", {200: ok("An OpenAPI 3.1 document.", OBJ)}),
    ("GET", "/metrics"): op("Prometheus metrics of this edge process", "meta", {200: {
        "description": "Prometheus text exposition format.", "content": {"text/plain": {"schema": STR}}}}),
    ("GET", "/agents/{instance_id}/config"): op(
        "A host agent's options from the hub", "agents", {
            200: ok("The defaults with the host's entry over them.",
                    obj(["instance_id", "options"], {"instance_id": STR, "options": OBJ})),
            400: "Not a valid instance id (1-128 of A-Z a-z 0-9 . _ : @ -).",
            404: "The hub has no options for this host: the agent runs on its own."}),
    ("GET", "/incidents/"): op("Incidents, newest change first", "incidents", {
        200: ok("The incidents.", obj(["incidents", "count"], {"incidents": array(ref("IncidentSummary")),
                                                                  "count": INT})), 400: ""}, params=[
        query("status", {"enum": list(INCIDENT_STATUSES)}, "Only this status."),
        query("severity", {"enum": list(SEVERITIES)}, "Only this severity."),
        query("source", STR, "Only incidents with an alert from this source (driver)."),
        query("since", STR, "Changed since: a duration back from now (2h, 30m, 1d) or an ISO 8601 time."),
        query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}, "At most this many.")]),
    ("GET", "/incidents/{incident_id}"): op("One incident with its timeline, stage references and deliveries",
                                            "incidents", {200: ok("The incident.", ref("Incident")), 404: ""}),
    ("POST", "/incidents/{incident_id}/{action}"): op(
        "Acknowledge, resolve, close or annotate", "incidents", {
            202: ok("Accepted; the check stage applies it in order with the incident's alerts.",
                    obj(["status", "command_id", "incident_id", "action"], {
                        "status": {"const": "accepted"}, "command_id": STR, "trace_id": STR, "incident_id": STR,
                        "action": STR})),
            400: "The body is not JSON, the note is not a string of at most 4000 characters, or the action is refused.",
            404: "No such incident or action.", 409: "The incident's status refuses this action.", 503: ""},
        body=_ACTION_BODY, path_parameters={"action": {"enum": list(ACTIONS)}}),
    ("GET", "/silences/"): op("Active, pending and waiting silences", "silences", {
        200: ok("The silences.", obj(["silences"], {"silences": array(ref("Silence"))}))},
        params=[query("all", {"enum": ["1", "true", "yes", "0"]}, "1: expired ones too.")]),
    ("POST", "/silences/"): op("Create a silence or a weekly maintenance window", "silences", {
        201: ok("Created; every worker learns it through the `silences` topic.", ref("Silence")), 400: "", 503: ""},
        body=json_body(ref("NewSilence"), example={"matchers": ['alertname="ExampleDiskFull"'], "duration": "2h",
                                                   "comment": "disk swap"})),
    ("GET", "/silences/{silence_id}"): op("One silence", "silences", {200: ok("The silence.", ref("Silence")),
                                                                      404: ""}),
    ("DELETE", "/silences/{silence_id}"): op("Expire a silence now", "silences", {
        200: ok("Expired.", ref("Silence")), 404: "", 409: "It has already ended.", 503: ""}),
    ("POST", "/silences/{silence_id}/expire"): op("Expire a silence now (for clients without DELETE)", "silences", {
        200: ok("Expired.", ref("Silence")), 404: "", 409: "It has already ended.", 503: ""}),
    ("GET", "/intelligence/providers/"): op("Analysis providers (never a key) and the active one", "intelligence", {
        200: ok("The providers.", obj(["active", "providers"],
                                       {"active": STR, "providers": array(ref("Provider"))}))}),
    ("POST", "/intelligence/providers/"): op("Add or replace an analysis provider", "intelligence", {
        201: ok("Stored (its API key sealed).", ref("Provider")), 400: "", 413: "",
        503: "The edge cannot seal the API key (ALERTSTREAM_SECRET_KEY)."},
        body=json_body(ref("NewProvider"), example={"name": "rules", "kind": "local"})),
    ("POST", "/intelligence/providers/{name}/activate"): op(
        "Make a provider the active one (`local`: the built-in rules)", "intelligence", {
            200: ok("Active; workers switch within ALERTSTREAM_ANALYSIS_REFRESH_S.", obj(["active"], {"active": STR})),
            404: ""}),
    ("GET", "/intelligence/recommendations/"): op("An incident's analyses, newest first", "intelligence", {
        200: ok("The analyses and the latest usable one.", obj(["incident_id", "latest", "analyses"], {
            "incident_id": STR, "latest": ref("Analysis"), "analyses": array(ref("Analysis"))})),
        400: "incident_id is missing, longer than 200 characters or holds NUL.", 404: "No analysis for this incident."},
        params=[query("incident_id", {"type": "string", "minLength": 1, "maxLength": 200}, "The incident.", True)]),
    ("GET", "/intelligence/health/"): op("Per provider: outcomes, fallback rate, latency, tokens", "intelligence", {
        200: ok("The report.", obj(["status", "active", "deadline_s", "window_s", "providers"], {
            "status": {"enum": ["idle", "ok", "degraded"]}, "active": OBJ, "deadline_s": NUM, "window_s": INT,
            "providers": array(ref("ProviderHealth"))})), 400: "window is not a duration from more than 0 to 7d."},
        params=[query("window", STR, "How far back: 15m (default), 1h, … at most 7d.")]),
    ("GET", "/channels/"): op("Channels: stored ones and the environment's default webhook", "channels", {
        200: ok("The channels (never their settings).", obj(["channels"], {"channels": array(ref("Channel"))}))}),
    ("POST", "/channels/"): op("Validate, test-send and store a channel (sealed)", "channels", {
        201: ok("Stored.", full({"name": STR, "type": STR, "enabled": BOOL, "summary": STR})), 400: "",
        409: "The name exists.",
        422: "The test message failed; nothing was stored.", 503: "ALERTSTREAM_SECRET_KEY is not set."},
        body=json_body(ref("NewChannel"))),
    ("POST", "/channels/{name}/test"): op("Send a real test message", "channels", {
        200: ok("Delivered.", ref("ChannelTest")), 502: ok("The receiver failed it.", ref("ChannelTest")),
        404: "", 503: "Stored channels cannot be read (ALERTSTREAM_SECRET_KEY)."}),
    ("POST", "/channels/{name}/disable"): op("Stop delivering to a stored channel", "channels", {
        200: ok("Disabled.", obj(["name", "enabled"], {"name": STR, "enabled": BOOL})), 404: ""}),
    ("POST", "/channels/{name}/enable"): op("Deliver to a stored channel again", "channels", {
        200: ok("Enabled.", obj(["name", "enabled"], {"name": STR, "enabled": BOOL})), 404: ""}),
    ("GET", "/deliveries/"): op("The delivery ledger, newest change first", "deliveries", {
        200: ok("The deliveries.", obj(["deliveries"], {"deliveries": array(ref("Delivery"))})), 400: ""}, params=[
        query("incident", STR, "Only this incident's."),
        query("status", {"enum": list(DELIVERY_STATUSES)}, "Only this status (`failed`: failed and dead-lettered)."),
        query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}, "At most this many.")]),
    ("POST", "/deliveries/redrive"): op("Requeue every dead-lettered (and optionally failed) delivery", "deliveries", {
        202: _REQUEUED, 400: "Say what to redrive: {\"dlq\": true}.", 503: ""},
        body=json_body(obj(["dlq"], {"dlq": {"const": True}, "include_failed": BOOL}))),
    ("POST", "/deliveries/{key}/retry"): op("Requeue one failed or dead-lettered delivery", "deliveries", {
        202: _REQUEUED, 409: "Not a failed or dead-lettered delivery.", 503: ""}),
}

_PAGE: dict[int, Schema | str] = {200: html("The page."), 400: html("A filter it cannot use."),
                                   404: html("No such page.")}
_FORM: dict[int, Schema | str] = {303: {"description": "Done: to the page that shows it (`Location`)."},
         400: html("Refused input."), 403: html("The form's CSRF token is missing or stale."),
         404: html("No such thing."), 409: html("Refused in the current state."), 413: html("Over 64 KiB."),
         415: html("Not an urlencoded form."), 503: html("The broker or database does not answer.")}
CONSOLE: dict[tuple[str, str], Schema] = {
    ("GET", "/console/"): op("To the incidents page", "console", {303: {"description": "To /console/incidents."}}),
    ("GET", "/console/login"): op("The login form", "console", {200: html("The form (sets the login CSRF cookie).")}),
    ("POST", "/console/login"): op("Log in", "console", {
        303: {"description": "Logged in: the session cookie is set."}, 401: html("Wrong name or password."),
        403: html("The login form's CSRF token is missing or stale."), 415: html("Not an urlencoded form.")},
        body=form_body({"name": STR, "password": STR, "next": STR})),
    ("POST", "/console/logout"): op("Log out", "console", {**_FORM}, body=form_body({})),
    ("GET", "/console/incidents"): op("Incidents with filters and live counts", "console", _PAGE, params=[
        query(n, STR, f"Only this {n}.") for n in ("status", "severity", "source", "since")]),
    ("GET", "/console/incidents/counts"): op("Live counts (a fragment)", "console", {200: html("The fragment.")}),
    ("GET", "/console/incidents/{incident_id}"): op("One incident", "console", _PAGE),
    ("GET", "/console/incidents/{incident_id}/live"): op("An incident's state (a fragment)", "console", _PAGE),
    ("POST", "/console/incidents/{incident_id}/{action}"): op(
        "Acknowledge, resolve, close or annotate", "console", {**_FORM}, body=form_body({"note": STR})),
    ("GET", "/console/silences"): op("Silences", "console", _PAGE, params=[query("all", STR, "1: expired too.")]),
    ("POST", "/console/silences"): op("Create a silence", "console", {**_FORM},
                                      body=form_body({"matchers": STR, "duration": STR, "comment": STR})),
    ("POST", "/console/silences/{silence_id}/expire"): op("Expire a silence", "console", {**_FORM},
                                                          body=form_body({})),
    ("GET", "/console/channels"): op("Channels with a test button", "console", _PAGE),
    ("POST", "/console/channels/{name}/test"): op("Send a test message", "console", {
        **_FORM, 200: html("Sent."), 502: html("The receiver failed it.")}, body=form_body({})),
    ("GET", "/console/deliveries"): op("The delivery ledger", "console", _PAGE, params=[
        query("status", STR, "Only this status."), query("incident", STR, "Only this incident's.")]),
    ("POST", "/console/deliveries/{key}/retry"): op("Retry a delivery", "console", {**_FORM}, body=form_body({})),
    ("GET", "/console/static/{path}"): op("The console's stylesheet and script", "console", {
        200: {"description": "The file.", "content": {"text/css": {"schema": STR},
                                                      "text/javascript": {"schema": STR}}},
        404: {"description": "No such file.", "content": {"text/plain": {"schema": STR}}}}),
}
OPERATIONS.update(CONSOLE)
