"""Operator actions, shared by the edge API and the CLI: acknowledge / resolve / close / note
an incident, add and expire silences. Each publishes a record and waits for the broker; the
check stage applies it in order with the incident's alerts, so every channel sees it.

The database copy is only consulted to refuse what obviously cannot apply (an unknown
incident, acknowledging a closed one); the check stage has the last word.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol

import psycopg

from alertstream.schemas.codec import Codec
from alertstream.schemas.records import IncidentCommand, Silence, SilenceMatcher, WeeklyRecurrence
from alertstream.storage import incidents as incident_store
from alertstream.storage import silences as silence_store
from alertstream.storage.db import holds_nul

from .incidents import action_refused
from .lanes import LaneError, parse_duration
from .silences import SilenceError, expired, new_silence, parse_matcher, state_of


class ActionError(Exception):
    """Refused: the status code an API answers with and the reason an operator reads."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Publishes(Protocol):
    async def publish(self, records: Any) -> None: ...


def _out(topic: str, key: str, value: bytes) -> Any:
    from alertstream.ingest.publisher import OutRecord

    return OutRecord(topic, key.encode(), value)


async def submit_action(
    publisher: Publishes, codec: Codec, conn: psycopg.AsyncConnection, *, incident_id: str, kind: str, actor: str,
    note: str, now: datetime,
) -> IncidentCommand:
    incident = await incident_store.incident_summary(conn, incident_id)
    if incident is None:
        raise ActionError(404, f"no incident {incident_id}")
    refused = action_refused(incident["status"], kind, note)
    if refused:
        raise ActionError(409 if kind in ("acknowledge", "resolve", "close") else 400, refused)
    command = IncidentCommand(
        command_id=uuid.uuid4().hex, kind=kind, incident_id=incident_id,
        correlation_key=incident["correlation_key"], issued_at=now, actor=actor, note=note,
    )
    await publisher.publish([_out("incidents.actions", incident_id, codec.encode(command))])
    return command


def _matchers(raw: Any) -> list[SilenceMatcher]:
    if not isinstance(raw, list) or not raw:
        raise SilenceError('matchers: a non-empty list, e.g. ["alertname=\\"DiskFull\\"", "instance=~\\"db-.*\\""]')
    out = []
    for item in raw:
        if isinstance(item, str):
            out.append(parse_matcher(item))
        elif isinstance(item, dict) and set(item) == {"name", "op", "value"}:
            out.append(parse_matcher(f'{item["name"]}{item["op"]}"{_escape(str(item["value"]))}"'))
        else:
            raise SilenceError(f"matchers: {item!r} is neither 'name=\"value\"' nor {{name, op, value}}")
    return out


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _time(raw: Any, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise SilenceError(f"{what}: an ISO 8601 time, not {raw!r}") from None
    if parsed.tzinfo is None:
        raise SilenceError(f"{what}: needs a time zone offset (e.g. 2026-12-01T22:00:00+00:00)")
    return parsed




def silence_from_doc(doc: Any, *, author: str, now: datetime) -> Silence:
    """A new silence from an API body or CLI options: matchers, starts_at (default now),
    ends_at or duration, weekly windows, comment. Raises SilenceError with the reason."""
    if not isinstance(doc, dict):
        raise SilenceError("a silence is a JSON object")
    unknown = set(doc) - {"matchers", "starts_at", "ends_at", "duration", "weekly", "comment", "author"}
    if unknown:
        raise SilenceError(f"unknown field(s): {', '.join(sorted(unknown))}")
    if holds_nul(doc):
        raise SilenceError("a silence cannot hold a NUL character")
    starts_at = _time(doc["starts_at"], "starts_at") if doc.get("starts_at") else now
    ends_at = _time(doc["ends_at"], "ends_at") if doc.get("ends_at") else None
    if doc.get("duration"):
        if ends_at is not None:
            raise SilenceError("give ends_at or duration, not both")
        try:
            ends_at = starts_at + parse_duration(doc["duration"], "duration")
        except LaneError as exc:
            raise SilenceError(str(exc)) from None
        except OverflowError:
            raise SilenceError("duration: it would end after the year 9999") from None
    weekly_raw = doc.get("weekly") or []
    if not isinstance(weekly_raw, list) or not all(isinstance(w, dict) for w in weekly_raw):
        raise SilenceError("weekly: a list of {days, start, end, timezone}")
    try:
        weekly = [WeeklyRecurrence(days=list(w["days"]), start=str(w["start"]), end=str(w["end"]),
                                   timezone=str(w.get("timezone", "UTC"))) for w in weekly_raw]
    except (KeyError, TypeError):
        raise SilenceError("weekly: each window needs days, start and end (and optionally timezone)") from None
    return new_silence(
        matchers=_matchers(doc.get("matchers")), starts_at=starts_at, ends_at=ends_at, weekly=weekly,
        author=str(doc.get("author") or author), comment=str(doc.get("comment") or ""), now=now,
    )


async def publish_silence(publisher: Publishes, codec: Codec, conn: psycopg.AsyncConnection, silence: Silence) -> None:
    """The topic first (what workers act on), then the queryable copy (the storage consumer would also write it)."""
    await publisher.publish([_out("silences", silence.silence_id, codec.encode(silence))])
    await silence_store.upsert(conn, [silence])


async def expire_silence(
    publisher: Publishes, codec: Codec, conn: psycopg.AsyncConnection, silence_id: str, now: datetime
) -> Silence:
    known = await silence_store.get(conn, silence_id)
    if known is None:
        raise ActionError(404, f"no silence {silence_id}")
    if state_of(known, now) == "expired":
        raise ActionError(409, f"silence {silence_id} has already ended")
    # A millisecond on, so the expiry always sorts after what it replaces (the topic stores milliseconds).
    ended = expired(known, now + timedelta(milliseconds=1) if known.updated_at >= now else now)
    await publish_silence(publisher, codec, conn, ended)
    return ended
