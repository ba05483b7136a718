"""The default instance id: stable, derived from the machine id, never the machine id itself."""

from __future__ import annotations

import hashlib
import hmac
import socket
from pathlib import Path

from alertstream.agent.identity import default_instance_id, instance_id_from_machine_id

MACHINE_ID = "4c4c4544004a3510804eb2c04f4e3732"


def test_derived_like_systemds_app_specific_ids() -> None:
    expected = hmac.new(MACHINE_ID.encode(), b"alertstream-agent", hashlib.sha256).hexdigest()[:32]
    assert instance_id_from_machine_id(MACHINE_ID + "\n") == expected
    assert MACHINE_ID not in expected


def test_first_readable_machine_id_wins_and_the_hostname_is_the_fallback(tmp_path: Path) -> None:
    etc, dbus = tmp_path / "machine-id", tmp_path / "dbus-machine-id"
    dbus.write_text("0123456789abcdef0123456789abcdef\n")
    assert default_instance_id((etc, dbus)) == instance_id_from_machine_id("0123456789abcdef0123456789abcdef")
    etc.write_text(MACHINE_ID + "\n")
    assert default_instance_id((etc, dbus)) == instance_id_from_machine_id(MACHINE_ID)
    assert default_instance_id((tmp_path / "none",)) == socket.gethostname()
