"""Secrets at rest: the keyring a process needs, and `alertstream secrets rotate` over registered columns."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from alertstream.cli import main
from alertstream.config import ConfigError, Settings
from alertstream.secrets import DecryptError, Keyring, Secret, generate_key
from alertstream.storage import sealed
from alertstream.storage.sealed import SealedColumn, keyring_for, rotate_all

K1 = f"k1:{generate_key()}"
K2 = f"k2:{generate_key()}"


def with_key(settings: Settings, spec: str) -> Settings:
    return dataclasses.replace(settings, notify=dataclasses.replace(settings.notify, secret_key=Secret(spec)))


def test_keyring_is_required_with_a_clear_message(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="ALERTSTREAM_SECRET_KEY is not set.*secrets generate-key"):
        keyring_for(with_key(settings, ""))
    with pytest.raises(ConfigError) as bad:
        keyring_for(with_key(settings, "k1:c2hvcnQ="))
    assert "c2hvcnQ" not in str(bad.value)  # never echoes key material
    assert keyring_for(with_key(settings, f"{K2},{K1}")).primary == "k2"


@pytest.fixture
def table(database_url: str) -> Iterator[SealedColumn]:
    name = f"sealed_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {name} (id int, tenant text, secret bytea, PRIMARY KEY (id, tenant))")
    yield SealedColumn(name, "secret", ("id", "tenant"), "test:{tenant}:{id}:secret")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {name}")


def _seal_rows(database_url: str, column: SealedColumn, keyring: Keyring, n: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for i in range(n):
            key = {"id": i, "tenant": "acme"}
            token = keyring.encrypt(f"hook-secret-{i}".encode(), column.aad(key))
            conn.execute(f"INSERT INTO {column.table} VALUES (%s, %s, %s)", (i, "acme", token))  # noqa: S608
        conn.execute(f"INSERT INTO {column.table} VALUES (99, 'acme', NULL)")  # noqa: S608


def _tokens(database_url: str, column: SealedColumn) -> dict[int, bytes]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(f"SELECT id, secret FROM {column.table} WHERE secret IS NOT NULL").fetchall()  # noqa: S608
    return {i: bytes(t) for i, t in rows}


def test_rotate_reencrypts_under_the_newest_key(database_url: str, table: SealedColumn) -> None:
    _seal_rows(database_url, table, Keyring.parse(K1), 5)
    both = Keyring.parse(f"{K2},{K1}")
    [report] = rotate_all(database_url, both, [table])
    assert (report.checked, report.rotated) == (5, 5)
    only_new = Keyring.parse(K2)  # the old key can now be dropped
    for i, token in _tokens(database_url, table).items():
        assert only_new.key_id(token) == "k2"
        assert only_new.decrypt(token, table.aad({"id": i, "tenant": "acme"})) == f"hook-secret-{i}".encode()
    [again] = rotate_all(database_url, both, [table])
    assert (again.checked, again.rotated) == (5, 0)


def test_a_token_that_does_not_decrypt_changes_nothing(database_url: str, table: SealedColumn) -> None:
    _seal_rows(database_url, table, Keyring.parse(K1), 3)
    before = _tokens(database_url, table)
    with psycopg.connect(database_url, autocommit=True) as conn:  # copied to another row: its AAD differs
        conn.execute(f"UPDATE {table.table} SET secret = %s WHERE id = 2", (before[0],))  # noqa: S608
    before = _tokens(database_url, table)
    with pytest.raises(DecryptError, match="row"):
        rotate_all(database_url, Keyring.parse(f"{K2},{K1}"), [table])
    assert _tokens(database_url, table) == before


def test_missing_table_is_reported(database_url: str) -> None:
    column = SealedColumn("no_such_table_here", "secret", ("id",), "x:{id}")
    [report] = rotate_all(database_url, Keyring.parse(K1), [column])
    assert report.missing_table


def test_cli_rotate(database_url: str, table: SealedColumn, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    _seal_rows(database_url, table, Keyring.parse(K1), 2)
    monkeypatch.setattr(sealed, "SEALED_COLUMNS", (table,))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("ALERTSTREAM_SECRET_KEY", raising=False)
    assert main(["secrets", "rotate"]) == 1  # no key: a clear error, not a traceback
    assert "ALERTSTREAM_SECRET_KEY is not set" in capsys.readouterr().err
    monkeypatch.setenv("ALERTSTREAM_SECRET_KEY", f"{K2},{K1}")
    assert main(["secrets", "rotate"]) == 0
    out = capsys.readouterr().out
    assert f"{table.table}.secret: 2 of 2 re-encrypted under 'k2'" in out and "drop k1" in out
    assert K1.split(":", 1)[1] not in out


def test_cli_generate_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secrets", "generate-key", "--kid", "k7"]) == 0
    entry = capsys.readouterr().out.strip()
    assert Keyring.parse(entry).primary == "k7"


def test_dev_secret_key_is_made_once_and_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = sealed.dev_secret_key(tmp_path)
    assert sealed.dev_secret_key(tmp_path) == first  # every child and every restart gets the same key
    assert (tmp_path / sealed.DEV_KEY_FILE).stat().st_mode & 0o077 == 0
    assert Keyring.parse(first).primary == "dev"


def test_sealed_rows_counts_what_a_worker_needs_to_decrypt(database_url: str, table: SealedColumn) -> None:
    assert sealed.sealed_rows(database_url, [table]) == {}
    _seal_rows(database_url, table, Keyring.parse(K1), 2)
    assert sealed.sealed_rows(database_url, [table]) == {table.table: 2}  # the NULL row does not count
    missing = SealedColumn("no_such_table", "secret", ("id",), "x:{id}")
    assert sealed.sealed_rows(database_url, [missing]) == {}


def test_a_worker_refuses_to_start_without_the_key_for_stored_channels(
    settings: Settings, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    from ..components import test_database as fresh_database

    with fresh_database(tmp_path) as url:  # its own: the session worker must not meet this channel
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO channels (name, type, enabled, summary, config_sealed) VALUES"
                         " ('ops', 'webhook', true, '', %s)", (b"\x00sealed",))
        own = dataclasses.replace(settings, database_url=url)
        with pytest.raises(ConfigError, match=r"ALERTSTREAM_SECRET_KEY is not set, but .*1 in channels"):
            sealed.require_key_if_sealed(with_key(own, ""))
        sealed.require_key_if_sealed(own)  # with a key: no objection
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.delenv("ALERTSTREAM_SECRET_KEY", raising=False)
        assert main(["worker"]) == 1
        assert "ALERTSTREAM_SECRET_KEY is not set, but the database holds" in capsys.readouterr().err
