"""`alertstream console-users add|list|disable`: who may log in to the web console (/console/).

A password is read from a prompt (twice) or, for scripts, from standard input with
--password-stdin; never from an argument, which `ps` and shell history would show.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from alertstream.config import Settings

from .output import database_url, print_table, when


def _database(settings: Settings, command: str) -> str | None:
    return database_url(settings, f"console-users {command}")


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        print("alertstream console-users add: no terminal to prompt on; pipe the password with --password-stdin",
              file=sys.stderr)
        return None
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        print("alertstream console-users add: the passwords differ", file=sys.stderr)
        return None
    return first


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.ingest.console.passwords import WeakPassword, hash_password
    from alertstream.storage.console_users import UserExists, create_user, validate_name

    url = _database(settings, "add")
    if url is None:
        return 2
    try:
        validate_name(args.name)
    except ValueError as exc:
        print(f"alertstream console-users add: {exc}", file=sys.stderr)
        return 2
    password = _read_password(args.password_stdin)
    if password is None:
        return 2
    try:
        create_user(url, args.name, hash_password(password))
    except WeakPassword as exc:
        print(f"alertstream console-users add: {exc}", file=sys.stderr)
        return 2
    except UserExists as exc:
        print(f"alertstream console-users add: {exc}", file=sys.stderr)
        return 1
    print(f"created console user {args.name!r}; log in at /console/login")
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage.console_users import list_users

    url = _database(settings, "list")
    if url is None:
        return 2
    found = list_users(url)
    if not found:
        print("no console users; add one with `alertstream console-users add NAME`")
        return 0
    rows = [("NAME", "STATUS", "CREATED", "LAST LOGIN")]
    for u in found:
        rows.append((
            u.name, f"disabled {when(u.disabled_at)}" if u.disabled_at else "active",
            when(u.created_at), when(u.last_login_at, seconds=True),
        ))
    print_table(rows)
    return 0


def cmd_disable(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage.console_users import disable_user

    url = _database(settings, "disable")
    if url is None:
        return 2
    if not disable_user(url, args.name):
        print(f"alertstream console-users disable: no enabled console user named {args.name!r}", file=sys.stderr)
        return 1
    print(f"disabled {args.name!r}; their sessions ended")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("console-users", help="add, list and disable users of the web console")
    actions = parser.add_subparsers(dest="console_users_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user; the password is prompted for (or read with --password-stdin)")
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input (for scripts)")
    add.set_defaults(handler=cmd_add)
    actions.add_parser("list", help="every user, enabled and disabled").set_defaults(handler=cmd_list)
    disable = actions.add_parser("disable", help="stop a user logging in and end their sessions")
    disable.add_argument("name")
    disable.set_defaults(handler=cmd_disable)
