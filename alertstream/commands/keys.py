"""`alertstream keys create|list|revoke`: API keys of the edge (storage/apikeys.py)."""

from __future__ import annotations

import argparse
import sys

from alertstream.config import Settings

from .output import database_url, print_table, when


def _database(settings: Settings, command: str) -> str | None:
    return database_url(settings, f"keys {command}")


def cmd_create(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.ingest import drivers
    from alertstream.storage.apikeys import KeyExists, create_key

    url = _database(settings, "create")
    if url is None:
        return 2
    unknown = sorted(set(args.source) - set(drivers.BY_NAME))
    if unknown:
        print(f"alertstream keys create: unknown source(s) {', '.join(unknown)}; "
              f"known: {', '.join(sorted(drivers.BY_NAME))}", file=sys.stderr)
        return 2
    try:
        raw, record = create_key(url, args.name, args.allow, args.source)
    except KeyExists as exc:
        print(f"alertstream keys create: {exc}", file=sys.stderr)
        return 1
    print(f"created API key {record.name!r} ({record.prefix}…)")
    print(f"  paths:   {', '.join(record.allowed_prefixes) or 'all'}")
    print(f"  sources: {', '.join(record.allowed_sources) or 'all'}")
    print("The key is shown once and is not stored; keep it now:")
    print(raw)
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage.apikeys import list_keys

    url = _database(settings, "list")
    if url is None:
        return 2
    records = list_keys(url)
    if not records:
        print("no API keys; create one with `alertstream keys create --name NAME`")
        return 0
    rows = [("NAME", "PREFIX", "STATUS", "CREATED", "LAST USED", "PATHS", "SOURCES")]
    for r in records:
        rows.append((
            r.name, r.prefix, f"revoked {when(r.revoked_at)}" if r.revoked_at else "active",
            when(r.created_at), when(r.last_used_at, seconds=True),
            ",".join(r.allowed_prefixes) or "all", ",".join(r.allowed_sources) or "all",
        ))
    print_table(rows)
    return 0


def cmd_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage.apikeys import revoke_key

    url = _database(settings, "revoke")
    if url is None:
        return 2
    if not revoke_key(url, args.name):
        print(f"alertstream keys revoke: no active key named {args.name!r}", file=sys.stderr)
        return 1
    print(f"revoked {args.name!r}; edges refuse it within {settings.edge.api_key_cache_s:g} s")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = sub.add_parser("keys", help="create, list and revoke API keys of the edge")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key; prints it once")
    create.add_argument("--name", required=True)
    create.add_argument("--allow", action="append", default=[], metavar="PREFIX",
                        help="path prefix the key may use, e.g. /alerts/ (repeatable; default: all)")
    create.add_argument("--source", action="append", default=[], metavar="DRIVER",
                        help="source (driver) the key may send as, e.g. grafana (repeatable; default: all)")
    create.set_defaults(handler=cmd_create)
    actions.add_parser("list", help="every key, active and revoked (never the key itself)").set_defaults(
        handler=cmd_list)
    revoke = actions.add_parser("revoke", help="revoke the active key of this name")
    revoke.add_argument("name")
    revoke.set_defaults(handler=cmd_revoke)
