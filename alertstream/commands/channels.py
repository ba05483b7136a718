"""`alertstream channels add|list|test|disable|enable`: channels stored sealed in PostgreSQL.

Settings are given as `--set key=value` (a value that parses as JSON is taken as
JSON: numbers, lists, objects), `--secret key=ENV_VAR` (read from the environment,
so a credential stays out of shell history and `ps`), or `--settings-file FILE.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alertstream.config import Settings


def _settings_from_args(args: argparse.Namespace) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if args.settings_file:
        settings.update(json.loads(Path(args.settings_file).read_text()))
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {key!r} needs key=value")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    for item in args.secret or []:
        key, sep, var = item.partition("=")
        if not sep or var not in os.environ:
            raise ValueError(f"--secret {key}=ENV_VAR: environment variable {var!r} is not set")
        settings[key] = os.environ[var]
    return settings


async def _with_pool(settings: Settings, fn: Any) -> Any:
    from alertstream.storage.db import open_pool

    pool = await open_pool(settings.database_url)
    try:
        return await fn(pool)
    finally:
        await pool.close()


def _outbound(settings: Settings) -> Any:
    from alertstream.notify.outbound import allow_list, make_outbound

    return make_outbound(allow_list(settings.notify.outbound_allow, settings.worker.webhook_url))


async def _probe(settings: Settings, channel: Any) -> tuple[bool, str]:
    from alertstream.notify.probe import send_test

    out = _outbound(settings)
    try:
        return await send_test(channel, out, datetime.now(UTC))
    finally:
        await out.http.aclose()


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.errors import Permanent
    from alertstream.notify.channels import summary, validate_channel
    from alertstream.storage import channels as store
    from alertstream.storage.sealed import keyring_for

    keyring = keyring_for(settings)
    try:
        channel = validate_channel(args.name, args.type, _settings_from_args(args),
                                   _outbound(settings).allow)
    except Permanent as exc:
        print(f"alertstream channels add: {exc.reason}: {exc.detail}", file=sys.stderr)
        return 2
    if args.test:
        ok, what = asyncio.run(_probe(settings, channel))
        print(f"test message: {what}")
        if not ok:
            print("not saved (the test failed; --no-test saves without one)", file=sys.stderr)
            return 1
    saved = asyncio.run(_with_pool(settings, lambda pool: store.save(pool, keyring, channel, summary(channel),
                                                                      replace=args.replace)))
    if not saved:
        print(f"alertstream channels add: {args.name} exists (use --replace)", file=sys.stderr)
        return 1
    print(f"saved {args.type} channel {args.name} ({summary(channel)})")
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.notify.channels import DEFAULT_WEBHOOK, channels_from_settings, summary
    from alertstream.storage import channels as store

    rows = [(c.name, c.type, "env", summary(c)) for c in channels_from_settings(settings.worker).values()]
    stored = asyncio.run(_with_pool(settings, store.list_channels))
    rows += [(c.name, c.type, "enabled" if c.enabled else "disabled", c.summary) for c in stored]
    if args.json:
        print(json.dumps([{"name": n, "type": t, "state": s, "summary": m} for n, t, s, m in rows], indent=2))
        return 0
    width = max([len(r[0]) for r in rows] + [len(DEFAULT_WEBHOOK)])
    for name, kind, state, text in rows:
        print(f"{name:<{width}}  {kind:<9}  {state:<8}  {text}")
    return 0


def cmd_test(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.notify.channels import channels_from_settings
    from alertstream.storage import channels as store
    from alertstream.storage.sealed import keyring_for

    channel = channels_from_settings(settings.worker).get(args.name)
    if channel is None:
        keyring = keyring_for(settings)
        channel = asyncio.run(_with_pool(settings, lambda pool: store.load(pool, keyring, args.name))).get(args.name)
    if channel is None:
        print(f"alertstream channels test: no channel {args.name!r}", file=sys.stderr)
        return 1
    ok, what = asyncio.run(_probe(settings, channel))
    print(f"{args.name}: {what}")
    return 0 if ok else 1


def _set_enabled(settings: Settings, name: str, enabled: bool) -> int:
    from alertstream.storage import channels as store

    if not asyncio.run(_with_pool(settings, lambda pool: store.set_enabled(pool, name, enabled))):
        print(f"no stored channel {name!r}", file=sys.stderr)
        return 1
    print(f"{name}: {'enabled' if enabled else 'disabled'}")
    return 0


def cmd_disable(settings: Settings, args: argparse.Namespace) -> int:
    return _set_enabled(settings, args.name, False)


def cmd_enable(settings: Settings, args: argparse.Namespace) -> int:
    return _set_enabled(settings, args.name, True)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from alertstream.notify.registry import CHANNEL_TYPES

    parser = sub.add_parser("channels", help="notification channels: add, list, test, disable, enable")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="validate and store a channel (sealed with ALERTSTREAM_SECRET_KEY)")
    add.add_argument("name")
    add.add_argument("--type", required=True, choices=sorted(CHANNEL_TYPES))
    add.add_argument("--set", action="append", metavar="KEY=VALUE", help="a setting (JSON values allowed)")
    add.add_argument("--secret", action="append", metavar="KEY=ENV_VAR", help="a setting read from the environment")
    add.add_argument("--settings-file", help="a JSON object of settings")
    add.add_argument("--replace", action="store_true", help="overwrite an existing channel of that name")
    add.add_argument("--test", action=argparse.BooleanOptionalAction, default=True,
                     help="send a real test message before saving (default: yes)")
    add.set_defaults(handler=cmd_add)
    listing = actions.add_parser("list", help="channels: name, type, state, where they point (never a secret)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)
    for name, handler, text in (("test", cmd_test, "send a real test message through a channel"),
                                ("disable", cmd_disable, "stop delivering to a channel"),
                                ("enable", cmd_enable, "deliver to a disabled channel again")):
        action = actions.add_parser(name, help=text)
        action.add_argument("name")
        action.set_defaults(handler=handler)
