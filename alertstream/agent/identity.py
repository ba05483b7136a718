"""Who this host is to the hub: a stable instance id and a hostname.

The default instance id is derived from /etc/machine-id the way systemd asks applications to
(sd_id128_get_machine_app_specific): an HMAC keyed by the machine id, so the raw id, which
should stay confidential, never leaves the host, and reinstalling the agent keeps the same id.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
from pathlib import Path

_APP = b"alertstream-agent"


def instance_id_from_machine_id(machine_id: str) -> str:
    return hmac.new(machine_id.strip().encode("ascii", "replace"), _APP, hashlib.sha256).hexdigest()[:32]


def default_instance_id(machine_id_paths: tuple[Path, ...] = (Path("/etc/machine-id"),
                                                              Path("/var/lib/dbus/machine-id"))) -> str:
    for path in machine_id_paths:
        try:
            text = path.read_text(encoding="ascii", errors="replace").strip()
        except OSError:
            continue
        if text:
            return instance_id_from_machine_id(text)
    return socket.gethostname()


def default_hostname() -> str:
    return socket.gethostname()
