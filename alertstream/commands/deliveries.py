"""`alertstream deliveries list|retry|redrive`: the delivery ledger, and handing given-up
deliveries back to the same idempotent retry path (streams/notify_redrive.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

from alertstream.config import Settings


async def _run(settings: Settings, fn: Any) -> Any:
    from alertstream.storage.db import open_pool

    pool = await open_pool(settings.database_url)
    try:
        return await fn(pool)
    finally:
        await pool.close()


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage import deliveries

    rows = asyncio.run(_run(settings, lambda pool: deliveries.list_deliveries(
        pool, incident_id=args.incident, status=args.status, limit=args.limit)))
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
        return 0
    for r in rows:
        code = r["last_status_code"] if r["last_status_code"] is not None else "-"
        print(f"{r['delivery_key']}  {r['channel_type']:<9} {r['status']:<10} attempts={r['attempts']:<2}"
              f" code={code} {r['last_reason'] or ''}  {r['updated_at']:%Y-%m-%d %H:%M:%S}")
    if not rows:
        print("no deliveries match")
    return 0


def _redrive(settings: Settings, keys: list[str] | None, statuses: tuple[str, ...]) -> list[str]:
    from alertstream.ingest.publisher import OutRecord, Publisher
    from alertstream.schemas.codec import Codec
    from alertstream.streams.notify_redrive import redrive

    async def go(pool: Any) -> list[str]:
        publisher = Publisher(settings.kafka)
        try:
            async def publish(topic: str, key: bytes, value: bytes) -> None:
                await publisher.publish([OutRecord(topic, key, value)])

            return await redrive(pool, Codec(), publish, datetime.now(UTC), keys=keys, statuses=statuses)
        finally:
            await asyncio.to_thread(publisher.close)

    return asyncio.run(_run(settings, go))  # type: ignore[no-any-return]


def cmd_retry(settings: Settings, args: argparse.Namespace) -> int:
    done = _redrive(settings, [args.key], ("failed", "dlq"))
    if not done:
        print(f"alertstream deliveries retry: {args.key} is not a failed or dead-lettered delivery",
              file=sys.stderr)
        return 1
    print(f"requeued {args.key}")
    return 0


def cmd_redrive(settings: Settings, args: argparse.Namespace) -> int:
    if not args.dlq:
        print("alertstream deliveries redrive: say what to redrive (--dlq)", file=sys.stderr)
        return 2
    statuses = ("dlq", "failed") if args.include_failed else ("dlq",)
    done = _redrive(settings, None, statuses)
    print(f"requeued {len(done)} deliveries")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("deliveries", help="the delivery ledger: list, retry, redrive")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="deliveries, newest first")
    listing.add_argument("--incident", help="one incident's deliveries")
    listing.add_argument("--status", choices=["pending", "sent", "retrying", "failed", "dlq", "superseded"],
                         help="'failed' shows every delivery that gave up (failed and dlq)")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)
    retry = actions.add_parser("retry", help="send a failed or dead-lettered delivery again (once)")
    retry.add_argument("key", metavar="ID",
                       help="the delivery key (incident_id:version:channel, :update for a follow-up)")
    retry.set_defaults(handler=cmd_retry)
    redrive = actions.add_parser("redrive", help="hand every dead-lettered delivery back to the retry path")
    redrive.add_argument("--dlq", action="store_true", help="deliveries in notify.dlq (out of attempts or age)")
    redrive.add_argument("--include-failed", action="store_true", help="permanent failures too")
    redrive.set_defaults(handler=cmd_redrive)
