"""`alertstream incidents list|show|ack|resolve|close|note`: the operator's view of incidents.

Reads PostgreSQL (the queryable copy); actions are published to incidents.actions like the
API's, so the check stage applies them in order and every channel sees them.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from datetime import UTC, datetime

from alertstream.config import Settings

from .output import Refused, run_action, with_connection

_VERBS = {"ack": "acknowledge", "resolve": "resolve", "close": "close", "note": "note"}




def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.ingest.api.incidents import parse_since
    from alertstream.storage import incidents as store

    since = parse_since(args.since, datetime.now(UTC)) if args.since else None
    rows = asyncio.run(with_connection(settings, lambda conn: store.list_incidents(
        conn, status=args.status, severity=args.severity, source=args.source, since=since, limit=args.limit)))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no incidents")
        return 0
    for r in rows:
        print(f"{r['incident_id']}  v{r['version']:<3} {r['status']:<12} {r['severity']:<8} "
              f"{r['alert_count']:>3} alert(s)  {r['updated_at'][:19]}  {r['title']}")
    return 0


def cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage import incidents as store

    found = asyncio.run(with_connection(settings, lambda conn: store.show_incident(conn, args.incident_id)))
    if found is None:
        print(f"no incident {args.incident_id}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(found, indent=2, default=str))
        return 0
    print(f"{found['incident_id']}  {found['title']}")
    print(f"  status {found['status']}  severity {found['severity']}  lane {found['lane']}  v{found['version']}")
    print(f"  opened {found['opened_at']}  updated {found['updated_at']}  key {found['correlation_key']}")
    print("  timeline:")
    for e in found["timeline"]:
        muted = f" silenced by {','.join(e['silenced_by'])}" if e["silenced_by"] else ""
        held = f" held until {e['held_until']}" if e["held_until"] else ""
        who = f" by {e['actor']}" if e["actor"] else ""
        print(f"    v{e['version']:<3} {e['updated_at'][:19]}  {e['reason']:<16} {e['status']:<12} "
              f"lane {e['lane']} [{','.join(e['stages']) or '-'}]{who}{muted}{held}")
        if e["note"]:
            print(f"         note: {e['note']}")
        for change in e["alert_changes"]:
            before = change["from"]["status"] + "/" + change["from"]["severity"] if change["from"] else "new"
            print(f"         alert {change['name']} ({change['fingerprint'][:12]}): {before} -> "
                  f"{change['to']['status']}/{change['to']['severity']}")
    print("  deliveries:")
    for d in found["deliveries"] or []:
        print(f"    v{d['incident_version']:<3} {d['channel']:<20} {d['status']:<10} attempts {d['attempts']}"
              + (f"  {d['last_reason']}" if d["last_reason"] else ""))
    print(f"  stage refs: {len(found['refs'])} (alertstream trace <trace_id> for each trace)")
    return 0


def cmd_act(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.streams.actions import submit_action

    kind = _VERBS[args.verb]
    note = " ".join(args.text) if kind == "note" else (args.note or "")
    try:
        command = run_action(settings, f"incidents {args.verb}", lambda publisher, codec, conn: submit_action(
            publisher, codec, conn, incident_id=args.incident_id, kind=kind, actor=args.actor, note=note,
            now=datetime.now(UTC)))
    except Refused:
        return 1
    print(f"{kind} of {args.incident_id} accepted (command {command.command_id})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("incidents", help="list, show, acknowledge, resolve, close incidents; add notes")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    listing = verbs.add_parser("list", help="incidents, newest change first")
    listing.add_argument("--status", choices=("open", "acknowledged", "resolved", "closed"))
    listing.add_argument("--severity", choices=("critical", "error", "warning", "info"))
    listing.add_argument("--source", help="an alert source (driver), e.g. alertmanager")
    listing.add_argument("--since", help="a duration back from now (2h, 1d) or an ISO 8601 time")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)
    show = verbs.add_parser("show", help="one incident with its timeline, stage refs and deliveries")
    show.add_argument("incident_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_show)
    for verb in ("ack", "resolve", "close", "note"):
        act = verbs.add_parser(verb, help=f"{_VERBS[verb]} an incident")
        act.add_argument("incident_id")
        if verb == "note":
            act.add_argument("text", nargs="+")
        else:
            act.add_argument("--note", default="", help="a comment that goes with the action")
        act.add_argument("--actor", default=getpass.getuser(), help="who (default: your user name)")
        act.set_defaults(handler=cmd_act)
