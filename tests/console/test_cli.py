"""`alertstream console-users add|list|disable` and the first user `alertstream dev` creates."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from alertstream.config import Settings
from alertstream.dev import DEV_CONSOLE_FILE, DEV_CONSOLE_USER, ensure_dev_console_user
from alertstream.ingest.console.passwords import verify
from alertstream.storage.console_users import list_users

from ..components import test_database as fresh_database

pytestmark = pytest.mark.integration


def cli(database_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTSTREAM_", "DATABASE_"))}
    env["DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "alertstream", "console-users", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_add_list_disable(database_url: str) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    password = "a sturdy password 42"
    added = cli(database_url, "add", name, "--password-stdin", stdin=password + "\n")
    assert added.returncode == 0, added.stderr
    assert password not in added.stdout + added.stderr
    with psycopg.connect(database_url) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM console_users WHERE name = %s", (name,)).fetchone()
    assert stored.startswith("$argon2id$") and verify(stored, password)

    again = cli(database_url, "add", name, "--password-stdin", stdin=password + "\n")
    assert again.returncode == 1 and "exists" in again.stderr
    weak = cli(database_url, "add", f"{name}-2", "--password-stdin", stdin="short\n")
    assert weak.returncode == 2 and "at least 12 characters" in weak.stderr
    no_tty = cli(database_url, "add", f"{name}-3", stdin="")
    assert no_tty.returncode == 2 and "--password-stdin" in no_tty.stderr
    bad_name = cli(database_url, "add", "has space", "--password-stdin", stdin=password + "\n")
    assert bad_name.returncode == 2

    listing = cli(database_url, "list")
    assert listing.returncode == 0 and name in listing.stdout and "active" in listing.stdout
    assert "$argon2" not in listing.stdout

    assert cli(database_url, "disable", name).returncode == 0
    assert cli(database_url, "disable", name).returncode == 1
    (line,) = [row for row in cli(database_url, "list").stdout.splitlines() if row.startswith(name + " ")]
    assert "disabled" in line


def test_dev_creates_the_first_console_user_once(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        dev_settings = Settings.from_env({"DATABASE_URL": url})
        note = ensure_dev_console_user(dev_settings, tmp_path)
        kept = tmp_path / DEV_CONSOLE_FILE
        password = kept.read_text().strip()
        assert kept.stat().st_mode & 0o077 == 0
        assert f"name {DEV_CONSOLE_USER}, password {password}" in note and "/console/" in note
        (user,) = list_users(url)
        assert user.name == DEV_CONSOLE_USER
        with psycopg.connect(url) as conn:
            (stored,) = conn.execute("SELECT password_hash FROM console_users").fetchone()
        assert verify(stored, password)
        again = ensure_dev_console_user(dev_settings, tmp_path)
        assert password not in again and str(kept) in again
        assert len(list_users(url)) == 1
