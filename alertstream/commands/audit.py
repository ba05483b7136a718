"""`alertstream audit verify` (walk the hash chains) and `alertstream audit export` (one incident's evidence)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson

from alertstream.config import Settings
from alertstream.replay import ReplayError, parse_time
from alertstream.schemas.records import AuditRef


def _topic_refs(
    settings: Settings, since_ms: int | None, chain_prefix: str = ""
) -> Iterator[tuple[AuditRef, int, int]]:
    from alertstream.schemas.codec import Codec, SchemaError
    from alertstream.topic_reader import RangeReader

    codec = Codec.from_settings(settings)
    for message in RangeReader(settings.kafka.bootstrap_servers, "audit.refs", since_ms):
        try:
            ref = codec.decode(message.value or b"")
        except SchemaError:
            continue  # not a ref: nothing to hold against the chains
        if isinstance(ref, AuditRef) and ref.chain_id.startswith(chain_prefix):
            yield ref, message.partition, message.offset


def cmd_verify(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage.audit_verify import verify

    if not settings.database_url:
        print("alertstream audit verify: DATABASE_URL is not set", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    try:
        since = parse_time(args.since, now) if args.since else None
    except ReplayError as exc:
        print(f"alertstream audit verify: {exc}", file=sys.stderr)
        return 2
    since_ms = int(since.timestamp() * 1000) if since else None
    topic = _topic_refs(settings, since_ms, args.chain) if args.topic else None
    report = verify(settings.database_url, now=now, since=since, chain_prefix=args.chain, topic_refs=topic,
                    settle=timedelta(seconds=args.settle), check_contents=not args.no_content)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        for f in report.findings:
            where = f"seq {f.seq}" if f.seq is not None else "-"
            print(f"{f.kind.upper():<16} {f.chain_id}  {where}  {f.ref_id or ''}  {f.detail}")
        extra = f", {report.topic_refs} refs read from audit.refs" if args.topic else ""
        print(f"verified {report.refs} refs in {report.chains} chains{extra}; {report.unchained} unchained "
              f"(written before chains); {len(report.findings)} findings: {'OK' if report.ok else 'TAMPERING OR LOSS'}")
    return 0 if report.ok else 1


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage.audit_export import export_incident

    if not settings.database_url:
        print("alertstream audit export: DATABASE_URL is not set", file=sys.stderr)
        return 2
    bundle = export_incident(settings.database_url, args.incident, datetime.now(UTC))
    if bundle is None:
        print(f"alertstream audit export: no incident {args.incident!r}", file=sys.stderr)
        return 1
    data = orjson.dumps(bundle, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    if args.out in (None, "-"):
        sys.stdout.buffer.write(data)
    else:
        with open(args.out, "wb") as out:
            out.write(data)
        print(f"wrote {args.out}: {len(bundle['refs'])} refs, {len(bundle['timeline'])} timeline entries",
              file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    audit = sub.add_parser("audit", help="verify the audit hash chains; export an incident's evidence")
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check = actions.add_parser("verify", help="walk the hash chains: gaps, reordering, edited/deleted refs, content")
    check.add_argument("--since", metavar="TIME", help="only refs finished since then (ISO 8601, or 15m/2h/7d ago)")
    check.add_argument("--chain", default="", metavar="PREFIX", help="only chains whose id starts with this")
    check.add_argument("--topic", action="store_true", help="also hold the audit.refs topic against the rows")
    check.add_argument("--settle", type=float, default=60.0, metavar="SECONDS",
                       help="refs younger than this may still be in flight (default 60)")
    check.add_argument("--no-content", action="store_true", help="skip checking refs against stored content")
    check.add_argument("--json", action="store_true", help="the report as JSON")
    check.set_defaults(handler=cmd_verify)
    export = actions.add_parser("export", help="one incident's evidence as a self-contained JSON bundle")
    export.add_argument("--incident", required=True, metavar="ID")
    export.add_argument("--out", metavar="FILE", help="default: stdout")
    export.set_defaults(handler=cmd_export)
