"""Random ids (UUID version 4, as 32 hex digits) without a system call per id.

uuid.uuid4() reads os.urandom(16) each time: at a few ids per webhook that syscall was
~7 % of the edge's CPU. The same kernel randomness is read here 4 KiB at a time and
cut into ids; each keeps uuid4's version and variant bits."""

from __future__ import annotations

import os
import threading

_CHUNK = 4096
_lock = threading.Lock()
_pool = b""
_at = 0
_pid = 0


def new_id() -> str:
    """A random UUID4's hex, as uuid.uuid4().hex gives."""
    global _pool, _at, _pid
    with _lock:
        if _at + 16 > len(_pool) or _pid != os.getpid():  # refill; a forked child never reuses its parent's bytes
            _pool, _at, _pid = os.urandom(_CHUNK), 0, os.getpid()
        raw = bytearray(_pool[_at:_at + 16])
        _at += 16
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()
