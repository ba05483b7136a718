"""`alertstream analyze INCIDENT_ID`: re-run analysis of an incident on demand.

The incident is read as of its latest stored event; the active provider (or
--provider) answers without the lane deadline and without the cache (the provider's
own timeout still holds). The result is stored with the incident's analyses
(`/intelligence/recommendations/?incident_id=…`) and printed; nothing is sent.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from alertstream.config import Settings


def cmd_analyze(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage import analyses, providers
    from alertstream.storage.db import open_pool
    from alertstream.streams.analysis.contract import to_json
    from alertstream.streams.analysis.registry import to_config, validate
    from alertstream.streams.analysis.service import AnalysisService, to_record

    if not settings.database_url:
        print("alertstream analyze: DATABASE_URL is not set", file=sys.stderr)
        return 2

    async def main() -> int:
        pool = await open_pool(settings.database_url, max_size=2)

        async def own_pool() -> Any:
            return pool

        service = AnalysisService(settings, own_pool)
        try:
            incident = await analyses.load_incident(pool, args.incident_id)
            if incident is None:
                print(f"alertstream analyze: no incident {args.incident_id!r} is stored", file=sys.stderr)
                return 1
            if args.provider:
                row = await providers.get(pool, args.provider)
                if row is None and args.provider != "local":
                    print(f"alertstream analyze: no provider named {args.provider!r}", file=sys.stderr)
                    return 1
                config = to_config(row, service.keyring) if row else None
                if config is not None:
                    validate(config, settings.analysis.allow)
                service.analyzer.configure(config)
            else:
                await service.refresh()
            started = datetime.now(UTC)
            outcome = await service.analyzer.analyze(incident, use_cache=False)
            record = to_record(incident, outcome, started, datetime.now(UTC), record_id=str(uuid.uuid4()))
            await service.save(record, outcome)
        finally:
            await service.close()
            await pool.close()
        report = {
            "analysis_id": record.analysis_id, "incident_id": incident.incident_id, "version": incident.version,
            "status": record.status, "provider": record.provider, "model": record.model,
            "fallback_used": record.fallback_used, "reason": record.reason, "latency_ms": record.latency_ms,
            "tokens_in": record.tokens_in, "tokens_out": record.tokens_out, **to_json(outcome.output),
        }
        if args.json:
            print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
            return 0
        print(f"incident {incident.incident_id} v{incident.version}: {record.status} by {record.provider}"
              f"{' ' + record.model if record.model else ''}"
              f"{f' (fallback: {record.reason})' if record.fallback_used else ''}, {record.latency_ms} ms")
        print(f"  category:   {report['category']}  confidence {report['confidence']}")
        print(f"  summary:    {report['summary']}")
        print(f"  cause:      {report['probable_cause']}")
        for rec in outcome.output.recommendations:
            print(f"  {rec.priority}. [{rec.type}] {rec.title}")
            for action in rec.actions:
                print(f"       $ {action}")
        return 0

    return asyncio.run(main())


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("analyze", help="re-run the analysis of an incident now (stored, not sent)")
    parser.add_argument("incident_id")
    parser.add_argument("--provider", help="use this provider instead of the active one (`local`: the rules)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=cmd_analyze)
