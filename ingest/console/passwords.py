"""Console passwords: argon2id through argon2-cffi.

Why argon2id and not bcrypt: it is memory-hard (64 MiB per guess with the library's
RFC 9106 low-memory profile), so GPU guessing is far costlier; it has no 72-byte input
limit (bcrypt silently ignores the rest); and the hash string carries its own salt and
cost, so `needs_rehash` can upgrade old hashes at the next login.

Hashing costs ~50 ms of CPU: callers on the event loop run these in a thread.
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # a cap, so nobody can make the edge hash megabytes


class WeakPassword(ValueError):
    """A password the CLI refuses to store; the message says why."""


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # the library's defaults follow RFC 9106's recommendation


@functools.cache
def _decoy() -> str:
    # Verified against when the user does not exist, so "no such user" costs as much as "wrong password".
    return _hasher().hash(secrets.token_urlsafe(16))


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a console password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a console password has at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher().hash(password)


def rehash(password: str) -> str:
    """A fresh hash under today's cost parameters of a password that just verified (no strength check:
    the user chose it under an earlier policy)."""
    return _hasher().hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing user (None) is checked against a decoy, and False."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher().verify(password_hash or _decoy(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


def generate_password() -> str:
    """A password for a generated user (`alertstream dev`): 144 random bits."""
    return secrets.token_urlsafe(18)
