"""Encrypted columns: the registry `alertstream secrets rotate` walks, and the keyring they use.

Every column that holds a Keyring token (alertstream/secrets.py: AES-256-GCM,
bytea) is listed once in SEALED_COLUMNS, with the columns that identify its
row and the template of its associated data. The storage module that writes
the column seals with the same entry, so rotation derives the same AAD:

    CHANNEL_CONFIG = SealedColumn("channels", "config_sealed", ("id",), "channel:{id}:config")
    token = keyring.encrypt(plaintext, CHANNEL_CONFIG.aad({"id": channel_id}))

To add a column: define its SealedColumn next to the code that writes it, or
here, and append it to SEALED_COLUMNS (one line). A column listed here whose
table does not exist yet is skipped by rotate, with a note.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from alertstream.config import ConfigError, Settings
from alertstream.secrets import ENV_VAR, DecryptError, Keyring, generate_key

DEV_KEY_FILE = "dev-secret.key"  # under the state dir: `alertstream dev` passes it to its children


@dataclass(frozen=True)
class SealedColumn:
    table: str
    column: str  # bytea, NULL allowed
    key_columns: tuple[str, ...]  # identify the row (usually the primary key)
    aad_template: str  # str.format over the key columns, e.g. "channel:{id}:config"

    def aad(self, row_key: Mapping[str, Any]) -> bytes:
        return self.aad_template.format(**row_key).encode("utf-8")


# Append one line per encrypted column (notify: storage/channels.py; analysis: provider keys).
SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn("channels", "config_sealed", ("name",), "channel:{name}:config"),  # storage/channels.py
    # storage/providers.py KEY_COLUMN and storage/analyses.py BLOB_COLUMN:
    SealedColumn("analysis_providers", "api_key_sealed", ("name",), "analysis-provider:{name}:api_key"),
    SealedColumn("analysis_blobs", "sealed", ("sha256",), "analysis-blob:{sha256}"),
)


# What a worker decrypts to do its job: without the key it would page nobody on a stored channel.
NEEDED_BY_WORKERS: tuple[SealedColumn, ...] = SEALED_COLUMNS[:2]


def sealed_rows(url: str, columns: Sequence[SealedColumn] = NEEDED_BY_WORKERS) -> dict[str, int]:
    """How many rows hold a sealed value, per table (tables not created yet count as none)."""
    found: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        for column in columns:
            exists = conn.execute("SELECT to_regclass(%s)", (column.table,)).fetchone()
            if not exists or exists[0] is None:
                continue
            query = sql.SQL("SELECT count(*) FROM {} WHERE {} IS NOT NULL").format(
                sql.Identifier(column.table), sql.Identifier(column.column))
            row = conn.execute(query).fetchone()
            if row and row[0]:
                found[column.table] = int(row[0])
    return found


def require_key_if_sealed(settings: Settings) -> None:
    """A ConfigError when the database holds sealed settings a worker needs and no key is set:
    starting anyway would drop every stored channel and provider without a word to the pager."""
    if settings.notify.secret_key.reveal().strip() or not settings.database_url:
        return
    found = sealed_rows(settings.database_url)
    if found:
        held = ", ".join(f"{count} in {table}" for table, count in sorted(found.items()))
        raise ConfigError(f"{ENV_VAR} is not set, but the database holds encrypted settings ({held}); "
                          f"set {ENV_VAR} to the key they were sealed with")


def keyring_for(settings: Settings) -> Keyring:
    """The keyring from ALERTSTREAM_SECRET_KEY; a ConfigError saying what to do when it is missing.

    Call it at start-up of any process that reads or writes a sealed column, so a missing key
    fails the start, not the first delivery. (`alertstream dev` sets a key of its own.)"""
    spec = settings.notify.secret_key.reveal().strip()
    if not spec:
        raise ConfigError(
            f"{ENV_VAR} is not set; it is required to read or write encrypted settings outside dev mode. "
            "Generate one with `alertstream secrets generate-key` and set "
            f"{ENV_VAR}=<kid>:<key> (comma-separated, newest first, when rotating)"
        )
    try:
        return Keyring.parse(spec)
    except ValueError as exc:  # messages name the entry, never the key material
        raise ConfigError(str(exc)) from None


def dev_secret_key(state_dir: Path) -> str:
    """`alertstream dev`'s ALERTSTREAM_SECRET_KEY: made once under the state dir (0600), so sealed
    settings survive restarts and every child seals with the same key."""
    path = state_dir / DEV_KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"dev:{generate_key()}\n")
    return path.read_text().strip()


@dataclass
class RotationReport:
    column: SealedColumn
    checked: int = 0
    rotated: int = 0
    missing_table: bool = False


def rotate_column(conn: psycopg.Connection[Any], keyring: Keyring, column: SealedColumn) -> RotationReport:
    """Re-seal every token of one column that is not under the newest key, in one transaction.

    Rows are locked while they are rewritten, so a concurrent writer cannot be overwritten with
    stale plaintext. A token that does not decrypt (unknown key, tampered) stops the rotation
    of this column with a DecryptError naming the row — nothing of it is changed."""
    report = RotationReport(column)
    exists = conn.execute("SELECT to_regclass(%s)", (column.table,)).fetchone()
    if exists is None or exists[0] is None:
        report.missing_table = True
        return report
    keys = sql.SQL(", ").join(sql.Identifier(c) for c in column.key_columns)
    select = sql.SQL("SELECT {keys}, {col} FROM {table} WHERE {col} IS NOT NULL FOR UPDATE").format(
        keys=keys, col=sql.Identifier(column.column), table=sql.Identifier(column.table)
    )
    where = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in column.key_columns)
    update = sql.SQL("UPDATE {table} SET {col} = %s WHERE {where}").format(
        table=sql.Identifier(column.table), col=sql.Identifier(column.column), where=where
    )
    with conn.transaction():
        for row in conn.execute(select).fetchall():
            key_values: Sequence[Any] = row[:-1]
            token = bytes(row[-1])
            report.checked += 1
            if not keyring.needs_rotation(token):
                continue
            row_key = dict(zip(column.key_columns, key_values, strict=True))
            try:
                fresh = keyring.rotate(token, column.aad(row_key))
            except DecryptError as exc:
                raise DecryptError(f"{column.table}.{column.column} row {row_key}: {exc}") from None
            conn.execute(update, (fresh, *key_values))
            report.rotated += 1
    return report


def rotate_all(url: str, keyring: Keyring, columns: Sequence[SealedColumn] | None = None) -> list[RotationReport]:
    columns = SEALED_COLUMNS if columns is None else columns
    with psycopg.connect(url, autocommit=True) as conn:  # each column commits in its own transaction
        return [rotate_column(conn, keyring, column) for column in columns]
