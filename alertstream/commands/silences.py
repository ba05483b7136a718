"""`alertstream silences add|list|expire`: silences and maintenance windows.

A silence is published to the compacted `silences` topic (every worker follows it) and
copied to PostgreSQL for listing.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Any

from alertstream.config import Settings

from .output import Refused, run_action, with_connection


def parse_weekly(text: str) -> dict[str, Any]:
    """'sat,sun 22:00-06:00 Europe/Berlin' -> a weekly window (the zone defaults to UTC)."""
    parts = text.split()
    if len(parts) not in (2, 3) or "-" not in parts[1]:
        raise ValueError(
            f"--weekly {text!r}: 'DAYS HH:MM-HH:MM [TIMEZONE]', e.g. 'sat,sun 22:00-06:00 Europe/Berlin'"
        )
    start, end = parts[1].split("-", 1)
    return {"days": parts[0].lower().split(","), "start": start, "end": end,
            "timezone": parts[2] if len(parts) == 3 else "UTC"}


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage.silences import as_json
    from alertstream.streams.actions import publish_silence, silence_from_doc
    from alertstream.streams.silences import SilenceError, state_of

    now = datetime.now(UTC)
    doc = {"matchers": args.matcher, "comment": args.comment, "starts_at": args.starts, "ends_at": args.ends,
           "duration": args.duration, "weekly": [parse_weekly(w) for w in args.weekly]}
    if not (args.ends or args.duration or args.weekly):
        doc["duration"] = "1h"
    try:
        silence = silence_from_doc({k: v for k, v in doc.items() if v}, author=args.author, now=now)
    except SilenceError as exc:
        print(f"alertstream silences add: {exc}", file=sys.stderr)
        return 2
    try:
        run_action(settings, "silences add",
                   lambda publisher, codec, conn: publish_silence(publisher, codec, conn, silence))
    except Refused:
        return 1
    print(json.dumps(as_json(silence, state_of(silence, now))) if args.json else silence.silence_id)
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage import silences as store
    from alertstream.streams.silences import state_of

    now = datetime.now(UTC)
    found = asyncio.run(with_connection(settings, lambda conn: store.listing(conn, now, args.all)))
    if args.json:
        print(json.dumps([store.as_json(s, state_of(s, now)) for s in found], indent=2))
        return 0
    if not found:
        print("no silences")
    for s in found:
        matchers = ", ".join(f'{m.name}{m.op}"{m.value}"' for m in s.matchers)
        ends = s.ends_at.isoformat()[:19] if s.ends_at else "-"
        windows = "; ".join(f"{','.join(w.days)} {w.start}-{w.end} {w.timezone}" for w in s.weekly)
        print(f"{s.silence_id}  {state_of(s, now):<8} until {ends}  {{{matchers}}}"
              + (f"  weekly {windows}" if windows else "") + f"  by {s.author}"
              + (f": {s.comment}" if s.comment else ""))
    return 0


def cmd_expire(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.streams.actions import expire_silence

    try:
        run_action(settings, "silences expire", lambda publisher, codec, conn: expire_silence(
            publisher, codec, conn, args.silence_id, datetime.now(UTC)))
    except Refused:
        return 1
    print(f"expired {args.silence_id}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("silences", help="add, list and expire silences and maintenance windows")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    add = verbs.add_parser("add", help="silence matching alerts (default: for 1h from now)")
    add.add_argument("--matcher", "-m", action="append", required=True,
                     help='NAME=VALUE, NAME!=VALUE, NAME=~REGEX, NAME!~REGEX (repeatable; labels, source, severity)')
    add.add_argument("--duration", help="how long from the start, e.g. 2h")
    add.add_argument("--starts", help="ISO 8601 start (default now)")
    add.add_argument("--ends", help="ISO 8601 end")
    add.add_argument("--weekly", action="append", default=[],
                     help="a maintenance window 'DAYS HH:MM-HH:MM [TZ]', e.g. 'sat,sun 22:00-06:00 Europe/Berlin'")
    add.add_argument("--author", default=getpass.getuser())
    add.add_argument("--comment", default="")
    add.add_argument("--json", action="store_true")
    add.set_defaults(handler=cmd_add)
    listing = verbs.add_parser("list", help="silences that have not ended")
    listing.add_argument("--all", action="store_true", help="expired ones too")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)
    expire = verbs.add_parser("expire", help="end a silence now")
    expire.add_argument("silence_id")
    expire.set_defaults(handler=cmd_expire)
