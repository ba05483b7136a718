"""`alertstream secrets rotate|generate-key`: the keyring of encrypted settings (storage/sealed.py)."""

from __future__ import annotations

import argparse
import sys

from alertstream.config import Settings


def cmd_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage.sealed import SEALED_COLUMNS, keyring_for, rotate_all

    if not settings.database_url:
        print("alertstream secrets rotate: DATABASE_URL is not set", file=sys.stderr)
        return 2
    keyring = keyring_for(settings)
    if not SEALED_COLUMNS:
        print("no encrypted columns are registered; nothing to rotate")
        return 0
    total = 0
    for report in rotate_all(settings.database_url, keyring):
        where = f"{report.column.table}.{report.column.column}"
        if report.missing_table:
            print(f"{where}: table does not exist (run `alertstream migrate`); skipped")
            continue
        total += report.rotated
        print(f"{where}: {report.rotated} of {report.checked} re-encrypted under {keyring.primary!r}")
    others = [kid for kid in keyring.key_ids if kid != keyring.primary]
    if others:
        print(f"done ({total} re-encrypted). Once every process runs with the new key first, "
              f"drop {', '.join(others)} from ALERTSTREAM_SECRET_KEY.")
    return 0


def cmd_generate_key(settings: Settings, args: argparse.Namespace) -> int:
    import re

    from alertstream.secrets import generate_key

    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", args.kid):
        print("alertstream secrets generate-key: --kid is 1-32 characters of A-Z a-z 0-9 _ . -", file=sys.stderr)
        return 2
    print(f"{args.kid}:{generate_key()}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    secrets = sub.add_parser("secrets", help="rotate the key of encrypted settings, or generate a key")
    actions = secrets.add_subparsers(dest="secrets_command", required=True, metavar="ACTION")
    actions.add_parser(
        "rotate", help="re-encrypt every stored secret under the newest key of ALERTSTREAM_SECRET_KEY"
    ).set_defaults(handler=cmd_rotate)
    generate = actions.add_parser("generate-key", help="print a new 'kid:key' entry for ALERTSTREAM_SECRET_KEY")
    generate.add_argument("--kid", default="k1", help="the key id (default k1); use a new one per rotation")
    generate.set_defaults(handler=cmd_generate_key)
