"""Zabbix through a webhook media type whose script posts its parameters as JSON.

The admin names the parameters; this driver reads the names Zabbix's own shipped
media types use:

    field                   macro                   used for
    event_id                {EVENT.ID}              fingerprint (on recovery and update messages
                                                    Zabbix resolves it to the problem event too)
    event_name              {EVENT.NAME}            name (or trigger_name, {TRIGGER.NAME})
    event_value             {EVENT.VALUE}           1 problem, 0 resolved; or
    event_status            {EVENT.STATUS}          PROBLEM, RESOLVED (OK before Zabbix 5)
    event_ack_status        {EVENT.ACK.STATUS}      Yes -> acknowledged, unless resolved
    event_update_action     {EVENT.UPDATE.ACTION}   "acknowledged" counts when there is no ack status
    event_nseverity         {EVENT.NSEVERITY}       severity 0..5; or event_severity, {EVENT.SEVERITY}
    event_source            {EVENT.SOURCE}          0 trigger, 4 service; other sources (discovery,
                                                    autoregistration, internal) are not alerts
    event_date, event_time  {EVENT.DATE} {EVENT.TIME}   starts_at
    event_recovery_date, event_recovery_time  {EVENT.RECOVERY.DATE} {EVENT.RECOVERY.TIME}  ends_at
    host_name               {HOST.NAME}             label host (host_ip, {HOST.IP}: annotation)
    trigger_id              {TRIGGER.ID}            label trigger_id, group_key
    event_tags              {EVENT.TAGS}            labels ("key:value, ..."); or event_tags_json,
                                                    {EVENT.TAGSJSON}: [{"tag", "value"}]
    trigger_description, event_opdata, alert_subject, alert_message, event_update_message,
    event_update_user       annotations
    trigger_url             {TRIGGER.URL}           Link("runbook")
    zabbix_url              the frontend's base URL Link("incident"), to the event's page
Zabbix leaves a macro it cannot resolve in place ("{EVENT.RECOVERY.DATE}"); that counts
as absent. {EVENT.DATE} and {EVENT.TIME} are the server's local time with no zone and
are read as UTC: run the server in UTC, or send an ISO-8601 time with an offset (or an
epoch) in event_date and leave event_time out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from alertstream.schemas.records import NormalizedAlert

from ..fingerprint import clamp_dedup_key
from ..severity import map_severity
from .base import (
    ParseError,
    links,
    present,
    require_list,
    require_mapping,
    tag_labels,
    template_str,
    timestamp,
)

NAME = "zabbix"

ALERT_SOURCES = ("", "0", "4")  # trigger, service ("" when the admin does not send it)
_ZABBIX_DATE = re.compile(r"(\d{4})\.(\d{2})\.(\d{2})")


def detect(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and "event_id" in payload
        and ("event_value" in payload or "event_status" in payload)
    )


def parse(payload: Any, received_at: datetime) -> list[NormalizedAlert]:
    body = require_mapping(NAME, payload, "payload")

    def field(key: str) -> str:
        return template_str(NAME, body.get(key), key)

    if field("event_source") not in ALERT_SOURCES:
        return []
    event_id = field("event_id")
    if not event_id:
        raise ParseError(NAME, "event_id is required")
    name = field("event_name") or field("trigger_name")
    if not name:
        raise ParseError(NAME, "event_name is required")
    status = _status(field)
    host, trigger_id = field("host_name"), field("trigger_id")
    labels = {**_tags(body), **present(host=host, trigger_id=trigger_id)}
    severity_word = map_severity(field("event_severity"))
    recovered_at = _time(field, "event_recovery_date", "event_recovery_time")
    zabbix_url = field("zabbix_url").rstrip("/")
    event_page = ""
    if zabbix_url and trigger_id:
        event_page = f"{zabbix_url}/tr_events.php?triggerid={trigger_id}&eventid={event_id}"
    return [
        NormalizedAlert(
            fingerprint=event_id,
            source=NAME,
            name=name,
            status=status,
            severity=map_severity(field("event_nseverity"), default=severity_word, vendor=NAME),
            labels=labels,
            annotations=present(
                description=field("trigger_description"),
                operational_data=field("event_opdata"),
                subject=field("alert_subject"),
                message=field("alert_message"),
                host_ip=field("host_ip"),
                update_action=field("event_update_action"),
                update_message=field("event_update_message"),
                update_user=field("event_update_user"),
            ),
            starts_at=_time(field, "event_date", "event_time"),
            ends_at=recovered_at if status == "resolved" else None,
            links=links(("incident", event_page), ("runbook", field("trigger_url"))),
            group_key=trigger_id,
            dedup_key=clamp_dedup_key(f"{NAME}:{event_id}"),
        )
    ]


def _status(field: Callable[[str], str]) -> str:
    value, state = field("event_value"), field("event_status").upper()
    if value == "0" or state in ("RESOLVED", "OK"):
        return "resolved"
    if value not in ("", "1") or state not in ("", "PROBLEM"):
        raise ParseError(NAME, "event_value must be 1 or 0 (or event_status PROBLEM or RESOLVED)")
    if not value and not state:
        raise ParseError(NAME, "event_value or event_status is required")
    ack = field("event_ack_status").lower()
    if ack:
        return "acknowledged" if ack in ("yes", "1", "true") else "firing"
    action = field("event_update_action").lower()
    return "acknowledged" if "acknowledged" in action and "unacknowledged" not in action else "firing"


def _time(field: Callable[[str], str], date_key: str, time_key: str) -> datetime | None:
    date, time = field(date_key), field(time_key)
    if not date:
        return None
    ymd = _ZABBIX_DATE.fullmatch(date)  # {EVENT.DATE} is yyyy.mm.dd, {EVENT.TIME} hh:mm:ss
    if ymd:
        date = f"{ymd[1]}-{ymd[2]}-{ymd[3]}"
    return timestamp(NAME, f"{date}T{time}" if time else date, date_key)


def _tags(body: Mapping[str, Any]) -> dict[str, str]:
    """{EVENT.TAGSJSON} when sent (a JSON array, or that array as a string), else {EVENT.TAGS}."""
    tags_json = body.get("event_tags_json")
    if isinstance(tags_json, str):  # webhook parameters are strings unless the script decodes them
        text = template_str(NAME, tags_json, "event_tags_json")
        try:
            tags_json = json.loads(text) if text else None
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
            raise ParseError(NAME, "event_tags_json is not JSON") from exc
    if tags_json is None:
        return tag_labels(NAME, template_str(NAME, body.get("event_tags"), "event_tags"), "event_tags")
    pairs = []
    for i, item in enumerate(require_list(NAME, tags_json, "event_tags_json")):
        tag = require_mapping(NAME, item, f"event_tags_json[{i}]")
        key = template_str(NAME, tag.get("tag"), f"event_tags_json[{i}].tag")
        value = template_str(NAME, tag.get("value"), f"event_tags_json[{i}].value")
        pairs.append(f"{key}:{value}" if value else key)
    return tag_labels(NAME, pairs, "event_tags_json")
