"""Random ids (UUID version 4, as 32 hex digits) without a system call per id.

uuid.uuid4() reads os.urandom(16) each time: at a few ids per webhook that syscall was
~7 % of the edge's CPU. The same kernel randomness is read here 4 KiB at a time and
cut into ids; each keeps uuid4's version and variant bits."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid

_CHUNK = 4096
_lock = threading.Lock()
_pool = b""
_at = 0


def _forget() -> None:
    """In a forked child: never hand out the bytes the parent may hand out too."""
    global _pool, _at
    _pool, _at = b"", 0


os.register_at_fork(after_in_child=_forget)


def new_id() -> str:
    """A random UUID4's hex, as uuid.uuid4().hex gives."""
    global _pool, _at
    with _lock:
        if _at + 16 > len(_pool):
            _pool, _at = os.urandom(_CHUNK), 0
        raw = bytearray(_pool[_at:_at + 16])
        _at += 16
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()


def name_id(namespace: uuid.UUID, name: str) -> str:
    """str(uuid.uuid5(namespace, name)) without building a UUID object, which cost more than the
    SHA-1 itself; the stream stages derive three such ids per alert."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode(), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
