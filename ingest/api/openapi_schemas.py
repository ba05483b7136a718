"""The shapes the edge's JSON speaks, as OpenAPI 3.1 (JSON Schema 2020-12) components.

Objects list the fields every answer has (`required`) and allow more, so adding a field is
never a breaking change of the description. Enumerations come from the code that enforces
them. tests/api/test_conformance.py checks real answers against these.
"""

from __future__ import annotations

from typing import Any

from alertstream.notify.registry import CHANNEL_TYPES
from alertstream.storage.incidents import STATUSES as INCIDENT_STATUSES
from alertstream.streams.analysis.base import KINDS as PROVIDER_KINDS

Schema = dict[str, Any]
STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
NUM: Schema = {"type": "number"}
TIME: Schema = {"type": "string", "format": "date-time"}
TIME_OR_NULL: Schema = {"type": ["string", "null"], "format": "date-time"}
STR_OR_NULL: Schema = {"type": ["string", "null"]}
OBJ: Schema = {"type": "object"}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str], properties: dict[str, Schema]) -> Schema:
    return {"type": "object", "required": required, "properties": properties}


def full(properties: dict[str, Schema]) -> Schema:
    """An object that always has every listed field."""
    return obj(list(properties), properties)


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


STRINGS: Schema = {"type": "object", "additionalProperties": STR}
_INCIDENT: dict[str, Schema] = {
    "incident_id": STR, "version": INT, "status": {"enum": list(INCIDENT_STATUSES)}, "severity": STR,
    "title": STR, "correlation_key": STR, "lane": STR, "opened_at": TIME, "updated_at": TIME,
}
_ALERT = obj(["fingerprint", "event_id", "source", "name", "status", "severity"], {
    "fingerprint": STR, "event_id": STR, "source": STR, "name": STR, "status": STR, "severity": STR,
    "labels": STRINGS, "annotations": STRINGS, "starts_at": TIME_OR_NULL, "ends_at": TIME_OR_NULL,
    "links": array(obj(["name", "url"], {"name": STR, "url": STR}))})
_EVENT = full({
    "version": INT, "event_id": STR, "trace_id": STR, "reason": STR, "status": STR, "severity": STR, "lane": STR,
    "stages": array(STR), "channels": array(STR), "actor": STR, "note": STR, "silenced_by": array(STR),
    "held_until": TIME_OR_NULL, "alerts": array(_ALERT), "updated_at": TIME, "alert_changes": array(OBJ)})
_REF = full({"trace_id": STR, "stage": STR, "status": STR, "input_ref": STR, "output_ref": STR,
             "started_at": TIME, "finished_at": TIME, "error": STR_OR_NULL})
_DELIVERY: dict[str, Schema] = {
    "delivery_key": STR, "incident_id": STR, "incident_version": INT, "channel": STR, "channel_type": STR,
    "trace_id": STR, "status": STR, "attempts": INT, "last_status_code": {"type": ["integer", "null"]},
    "last_reason": STR_OR_NULL, "first_attempt_at": TIME, "next_attempt_at": TIME_OR_NULL,
    "created_at": TIME, "updated_at": TIME,
}
_INCIDENT_DELIVERY = ["delivery_key", "incident_version", "channel", "channel_type", "status", "attempts",
                      "last_status_code", "last_reason", "created_at", "updated_at"]
_SILENCE: dict[str, Schema] = {
    "silence_id": STR, "matchers": array(full({"name": STR, "op": STR, "value": STR})),
    "starts_at": TIME, "ends_at": TIME_OR_NULL,
    "weekly": array(full({"days": array(STR), "start": STR, "end": STR, "timezone": STR})),
    "author": STR, "comment": STR, "created_at": TIME, "updated_at": TIME,
    "state": {"enum": ["active", "pending", "waiting", "expired"]},
}
_ANALYSIS: dict[str, Schema] = {
    "analysis_id": STR, "incident_id": STR, "incident_version": INT, "trace_id": STR, "status": STR,
    "provider": STR, "model": STR, "category": STR, "summary": STR, "probable_cause": STR, "confidence": NUM,
    "recommendations": array(OBJ), "fallback_used": BOOL, "reason": STR, "cache_hit": BOOL, "follow_up": BOOL,
    "tokens_in": INT, "tokens_out": INT, "latency_ms": INT, "prompt_sha256": STR, "response_sha256": STR,
    "started_at": TIME, "finished_at": TIME,
}
_CHANNEL: dict[str, Schema] = {"name": STR, "type": STR, "enabled": BOOL, "summary": STR,
                               "source": {"enum": ["env", "stored"]}}

SCHEMAS: dict[str, Schema] = {
    "Error": {**obj(["error"], {"error": STR, "hint": STR}),
              "description": "Every refusal; more fields may say more (`limit`, `drivers`, …)."},
    "Accepted": full({"status": {"const": "accepted"}, "trace_id": STR,
                      "alerts": array(full({"event_id": STR, "fingerprint": STR}))}),
    "Readiness": full({"status": {"enum": ["ready", "unavailable"]},
                       "checks": {"type": "object", "additionalProperties": BOOL}}),
    "IncidentSummary": full({**_INCIDENT, "alert_count": INT}),
    "Incident": full({**_INCIDENT, "alerts": array(_ALERT), "timeline": array(_EVENT), "refs": array(_REF),
                      "deliveries": array(obj(_INCIDENT_DELIVERY, _DELIVERY))}),
    "Silence": full(_SILENCE),
    "NewSilence": {
        "type": "object", "required": ["matchers"], "additionalProperties": False,
        "properties": {
            "matchers": {"type": "array", "minItems": 1, "items": {"anyOf": [
                {"type": "string", "description": 'name="value", name!="value", name=~"regex" or name!~"regex"'},
                full({"name": STR, "op": {"enum": ["=", "!=", "=~", "!~"]}, "value": STR}),
            ]}},
            "duration": {"type": ["string", "number"], "description": "2h, 30m, 1d or seconds"},
            "starts_at": TIME, "ends_at": TIME, "comment": STR, "author": STR,
            "weekly": array(obj(["days", "start", "end"], {
                "days": array(STR), "start": STR, "end": STR, "timezone": STR})),
        },
    },
    "Channel": obj(["name", "type", "enabled", "summary", "source"], _CHANNEL),
    "NewChannel": obj(["name", "type"], {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,62}$"}, "type": {"enum": sorted(CHANNEL_TYPES)},
        "settings": {"type": "object", "description": "The channel type's settings (docs: notify/<type>.py)."},
        "test": {"type": "boolean", "default": True}, "replace": {"type": "boolean", "default": False}}),
    "ChannelTest": full({"channel": STR, "ok": BOOL, "result": STR}),
    "Delivery": full(_DELIVERY),
    "Provider": full({
        "name": STR, "kind": STR, "base_url": STR, "model": STR, "has_api_key": BOOL, "timeout_s": NUM,
        "max_concurrency": INT, "options": OBJ, "active": BOOL, "updated_at": TIME_OR_NULL}),
    "NewProvider": obj(["name", "kind"], {
        "name": STR, "kind": {"enum": list(PROVIDER_KINDS)}, "base_url": STR, "model": STR, "api_key": STR,
        "timeout_s": NUM, "max_concurrency": INT, "options": OBJ, "activate": BOOL}),
    "Analysis": full(_ANALYSIS),
    "ProviderHealth": obj(["provider", "model", "analyses", "ok", "fallback", "fallback_rate"], {
        "provider": STR, "model": STR, "analyses": INT, "ok": INT, "fallback": INT, "past_deadline": INT,
        "cache_hits": INT, "p50_latency_ms": INT, "p95_latency_ms": INT, "tokens_in": INT, "tokens_out": INT,
        "last_reason": STR_OR_NULL, "last_at": TIME_OR_NULL, "fallback_rate": NUM, "past_deadline_rate": NUM}),
}
