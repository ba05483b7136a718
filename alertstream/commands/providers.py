"""`alertstream providers add|list|test|activate`: the analysis stage's model providers
(storage/providers.py). Workers pick up a change within ALERTSTREAM_ANALYSIS_REFRESH_S.

An API key never goes on the command line (it would show in `ps` and shell history):
`--api-key-env VAR` names a variable that holds it, `--api-key-stdin` reads one line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

import orjson

from alertstream.config import ConfigError, Settings

from .output import print_table


def _fail(command: str, message: str, code: int = 1) -> int:
    print(f"alertstream providers {command}: {message}", file=sys.stderr)
    return code


def _run(settings: Settings, command: str, work: Any) -> int:
    from alertstream.storage.db import open_pool

    if not settings.database_url:
        return _fail(command, "DATABASE_URL is not set", 2)

    async def main() -> int:
        pool = await open_pool(settings.database_url, max_size=2)
        try:
            return int(await work(pool))
        finally:
            await pool.close()

    return asyncio.run(main())


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.secrets import Secret
    from alertstream.storage import providers as store
    from alertstream.storage.sealed import keyring_for
    from alertstream.streams.analysis.base import ProviderConfig
    from alertstream.streams.analysis.registry import options_from, validate

    key = ""
    if args.api_key_env:
        key = os.environ.get(args.api_key_env, "").strip()
        if not key:
            return _fail("add", f"the variable {args.api_key_env} is empty or not set", 2)
    elif args.api_key_stdin:
        key = sys.stdin.readline().strip()
    try:
        config = ProviderConfig(args.name, args.kind, args.url, args.model, Secret(key), args.timeout,
                                args.concurrency, options_from(args.option))
        validate(config, settings.analysis.allow)
        sealed = store.seal_key(keyring_for(settings), args.name, key) if key else None
    except (ValueError, ConfigError) as exc:
        return _fail("add", str(exc), 2)
    row = store.ProviderRow(args.name, args.kind, args.url, args.model, sealed, args.timeout, args.concurrency,
                            dict(config.options))

    async def work(pool: Any) -> int:
        await store.upsert(pool, row, keep_key=not key)
        if args.activate:
            await store.activate(pool, args.name)
        return 0

    code = _run(settings, "add", work)
    if code == 0:
        where = args.url or "(default URL)"
        print(f"provider {args.name!r} saved: {args.kind} {args.model or ''} at {where}"
              f"{', API key sealed' if key else ''}{', active' if args.activate else ''}")
    return code


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage import providers as store

    async def work(pool: Any) -> int:
        rows = await store.list_all(pool)
        if args.json:
            print(orjson.dumps([r.public() for r in rows], option=orjson.OPT_INDENT_2).decode())
            return 0
        active = any(r.active for r in rows)
        table = [("", "NAME", "KIND", "MODEL", "URL", "KEY", "TIMEOUT", "CONCURRENCY")]
        table.append(("*" if not active else "", "local", "local", "-", "-", "-", "-", "-"))
        for r in rows:
            table.append(("*" if r.active else "", r.name, r.kind, r.model or "-", r.base_url or "(default)",
                          "sealed" if r.api_key_sealed else "-", f"{r.timeout_s:g}s", str(r.max_concurrency)))
        print_table(table)
        return 0

    return _run(settings, "list", work)


def cmd_activate(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage import providers as store

    async def work(pool: Any) -> int:
        name = args.name
        if name == "local" and await store.get(pool, "local") is None:
            name = None  # the built-in rules: no provider active
        if not await store.activate(pool, name):
            return _fail("activate", f"no provider named {args.name!r} (see `alertstream providers list`)")
        print(f"active analysis provider: {args.name} (workers switch within "
              f"{settings.analysis.refresh_s:g}s)")
        return 0

    return _run(settings, "activate", work)


def cmd_test(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage import providers as store
    from alertstream.streams.analysis.registry import to_config, validate
    from alertstream.streams.analysis.sample import sample_incident
    from alertstream.streams.analysis.service import AnalysisService

    async def work(pool: Any) -> int:
        async def own_pool() -> Any:
            return pool

        service = AnalysisService(settings, own_pool)
        try:
            if args.name != "local" or await store.get(pool, "local") is not None:
                row = await store.get(pool, args.name)
                if row is None:
                    return _fail("test", f"no provider named {args.name!r}")
                config = to_config(row, service.keyring)
                validate(config, settings.analysis.allow)
                service.analyzer.configure(config)
            outcome = await service.analyzer.analyze(sample_incident(), use_cache=False)
        except ValueError as exc:
            return _fail("test", str(exc), 2)
        finally:
            await service.close()
        report = {
            "provider": outcome.provider, "model": outcome.model, "status": outcome.status,
            "reason": outcome.reason, "latency_ms": outcome.latency_ms, "tokens_in": outcome.tokens_in,
            "tokens_out": outcome.tokens_out, "category": outcome.output.category,
            "confidence": outcome.output.confidence, "summary": outcome.output.summary,
            "recommendations": len(outcome.output.recommendations),
        }
        if args.json:
            print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        else:
            for k, v in report.items():
                print(f"{k:>16}: {v}")
        return 0 if outcome.status == "ok" else 1

    return _run(settings, "test", work)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from alertstream.streams.analysis.base import KINDS

    parser = sub.add_parser("providers", help="analysis providers: add, list, test, activate")
    actions = parser.add_subparsers(dest="providers_command", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add or replace a provider")
    add.add_argument("name")
    add.add_argument("--kind", required=True, choices=KINDS)
    add.add_argument("--url", default="", help="base URL (default: the vendor's); e.g. http://127.0.0.1:11434/v1")
    add.add_argument("--model", default="")
    key = add.add_mutually_exclusive_group()
    key.add_argument("--api-key-env", metavar="VAR", help="read the API key from this environment variable")
    key.add_argument("--api-key-stdin", action="store_true", help="read the API key from one line of stdin")
    add.add_argument("--timeout", type=float, default=10.0, help="seconds for one analysis, repair included")
    add.add_argument("--concurrency", type=int, default=4, help="calls in flight per worker")
    add.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                     help="auth, api_version, json_mode, max_tokens, max_tokens_field, version, "
                          "breaker_failures, breaker_cooldown_s")
    add.add_argument("--activate", action="store_true", help="make it the active provider")
    add.set_defaults(handler=cmd_add)

    listing = actions.add_parser("list", help="configured providers; * marks the active one")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)

    test = actions.add_parser("test", help="analyze a sample incident with a provider and report")
    test.add_argument("name")
    test.add_argument("--json", action="store_true")
    test.set_defaults(handler=cmd_test)

    activate = actions.add_parser("activate", help="make a provider active (`local`: the built-in rules)")
    activate.add_argument("name")
    activate.set_defaults(handler=cmd_activate)
