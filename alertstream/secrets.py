"""Secrets in memory and at rest.

`Secret` keeps a value out of repr(), str() and therefore out of logs and
tracebacks; only `.reveal()` hands it over, so every use is greppable.

`Keyring` encrypts stored credentials (channel tokens, webhook URLs) with
AES-256-GCM. Its keys come from ALERTSTREAM_SECRET_KEY:

    ALERTSTREAM_SECRET_KEY="k2:<base64 32 bytes>,k1:<base64 32 bytes>"

comma-separated `kid:key` entries, newest first. A kid is 1-32 characters of
[A-Za-z0-9_.-]; a key is 32 random bytes in standard or URL-safe base64
(`python -c "from alertstream.secrets import generate_key; print(generate_key())"`).
The newest key encrypts; every listed key decrypts. To rotate, prepend a new
entry, re-encrypt whatever `needs_rotation()` flags, then drop the old entry.

Token layout (bytes): version(1)=0x01 | kid length(1) | kid | nonce(12) | ciphertext+tag(16).
The header is part of the authenticated data, so a token cannot be relabelled.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
import re
from collections.abc import Mapping, Sequence
from typing import Generic, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

ENV_VAR = "ALERTSTREAM_SECRET_KEY"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM standard nonce; random nonces are safe far beyond our volume
_VERSION = 1
_KID = re.compile(r"[A-Za-z0-9_.-]{1,32}")

T = TypeVar("T", str, bytes)


class Secret(Generic[T]):
    """A value that never prints itself."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value: T = value

    def reveal(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        # Constant time, so comparing a presented credential leaks no prefix length.
        return hmac.compare_digest(_as_bytes(self._value), _as_bytes(other._value))

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the value out (to a cache, a queue, a crash dump).
        raise TypeError("Secret values are not picklable")

    # Immutable, so copies are the object itself; this also keeps dataclasses.asdict()
    # and deepcopy of settings working despite __reduce__ refusing.
    def __copy__(self) -> Secret[T]:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret[T]:
        return self


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


class DecryptError(ValueError):
    """The token is malformed, from an unknown key, or fails authentication."""


def generate_key() -> str:
    """A fresh 32-byte key in URL-safe base64, ready for a `kid:key` entry."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def _decode_key(kid: str, text: str) -> bytes:
    text = text.strip()
    text += "=" * (-len(text) % 4)  # tolerate stripped padding
    try:
        # validate=True refuses stray characters instead of silently dropping them.
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{ENV_VAR}: key {kid!r} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"{ENV_VAR}: key {kid!r} decodes to {len(raw)} bytes; {KEY_BYTES} are required")
    return raw


class Keyring:
    """AES-256-GCM with named keys: the first encrypts, all decrypt."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError(f"{ENV_VAR}: at least one key is required")
        self._ciphers: dict[str, AESGCM] = {}
        for kid, key in keys:
            if not _KID.fullmatch(kid):
                raise ValueError(f"{ENV_VAR}: key id {kid!r} must be 1-32 characters of A-Z a-z 0-9 _ . -")
            if kid in self._ciphers:
                raise ValueError(f"{ENV_VAR}: key id {kid!r} appears twice")
            if len(key) != KEY_BYTES:
                raise ValueError(f"{ENV_VAR}: key {kid!r} is {len(key)} bytes; {KEY_BYTES} are required")
            self._ciphers[kid] = AESGCM(key)
        self.primary = keys[0][0]

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """From `kid:base64key,kid:base64key`, newest first. Messages never echo key material."""
        keys: list[tuple[str, bytes]] = []
        for index, entry in enumerate(spec.split(",")):
            entry = entry.strip()
            if not entry:
                continue
            kid, sep, key = entry.partition(":")
            if not sep or not kid.strip() or not key.strip():
                raise ValueError(f"{ENV_VAR}: entry {index + 1} must look like 'kid:base64key'")
            keys.append((kid.strip(), _decode_key(kid.strip(), key)))
        if not keys:
            raise ValueError(f"{ENV_VAR} holds no keys")
        return cls(keys)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    def __repr__(self) -> str:
        return f"Keyring(key_ids={list(self._ciphers)!r})"

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        """Seal with the newest key. `aad` (e.g. b"channel:42:token") binds the token to its
        place: the same ciphertext copied to another row will not decrypt there."""
        kid = self.primary.encode("ascii")
        header = bytes((_VERSION, len(kid))) + kid
        nonce = os.urandom(NONCE_BYTES)
        return header + nonce + self._ciphers[self.primary].encrypt(nonce, plaintext, header + aad)

    def decrypt(self, token: bytes, aad: bytes) -> bytes:
        kid, header, body = self._split(token)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise DecryptError(f"token was sealed with key {kid!r}, which is not in {ENV_VAR}")
        try:
            return cipher.decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], header + aad)
        except InvalidTag:
            raise DecryptError("token failed authentication (tampered, wrong aad or wrong key)") from None

    def key_id(self, token: bytes) -> str:
        return self._split(token)[0]

    def needs_rotation(self, token: bytes) -> bool:
        """True when the token was sealed with a key other than the newest."""
        return self.key_id(token) != self.primary

    def rotate(self, token: bytes, aad: bytes) -> bytes:
        """Re-seal with the newest key (unchanged when it already is)."""
        return self.encrypt(self.decrypt(token, aad), aad) if self.needs_rotation(token) else token

    @staticmethod
    def _split(token: bytes) -> tuple[str, bytes, bytes]:
        if len(token) < 2 or token[0] != _VERSION:
            raise DecryptError("not a keyring token (unknown version)")
        end = 2 + token[1]
        body = token[end:]
        if token[1] == 0 or len(body) < NONCE_BYTES + 16:
            raise DecryptError("not a keyring token (truncated)")
        try:
            kid = token[2:end].decode("ascii")
        except UnicodeDecodeError:
            raise DecryptError("not a keyring token (bad key id)") from None
        return kid, token[:end], body


def keyring_from_env(env: Mapping[str, str], *, dev: bool = False) -> Keyring:
    """The keyring from ALERTSTREAM_SECRET_KEY. Without one, dev mode gets a throwaway
    key (data sealed with it is unreadable after a restart); anything else fails, loudly."""
    spec = env.get(ENV_VAR, "").strip()
    if spec:
        return Keyring.parse(spec)
    if not dev:
        raise ValueError(
            f"{ENV_VAR} is not set; it is required outside dev mode. "
            "Set it to 'k1:<key>' with a key from alertstream.secrets.generate_key()"
        )
    log.warning(
        "%s is not set: dev mode uses a throwaway key; sealed secrets will not survive a restart", ENV_VAR
    )
    return Keyring([("dev", os.urandom(KEY_BYTES))])


__all__ = ["ENV_VAR", "DecryptError", "Keyring", "Secret", "generate_key", "keyring_from_env"]
