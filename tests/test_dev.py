"""`alertstream dev` (what `make run` runs): comes up, accepts an alert, and Ctrl-C
stops every child, the embedded PostgreSQL included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from alertstream.embedded import free_port

from .components import wait_ready

pytestmark = pytest.mark.integration


def _postgres_for(pgdata: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and any(pgdata in part for part in cmdline):
            found.append(proc)
    return found


def test_dev_runs_everything_and_ctrl_c_stops_it_all(broker, tmp_path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTSTREAM_", "DATABASE_", "KAFKA_"))}
    env.update(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, ALERTSTREAM_PORT=str(port),
               ALERTSTREAM_STATE_DIR=str(tmp_path / "state"), ALERTSTREAM_APP_ID="as-dev-test")
    proc = subprocess.Popen([sys.executable, "-m", "alertstream", "dev"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        try:
            wait_ready(f"http://127.0.0.1:{port}", timeout=90)
        except RuntimeError:
            proc.kill()
            pytest.fail(f"dev did not come up; its output:\n{proc.communicate(timeout=10)[0][-4000:]}")
        url = f"http://127.0.0.1:{port}/alerts/webhook/"
        # Authentication as in production: no key, no entry; the dev key is kept under the state dir.
        assert httpx.post(url, json={"name": "DevCheck"}, timeout=10).status_code == 401
        key_file = tmp_path / "state" / "dev-api-key"
        for private in (key_file, tmp_path / "state" / "dev-secret.key"):  # API key; sealing key
            assert private.stat().st_mode & 0o077 == 0, f"{private.name} must be private"
        dev_key = key_file.read_text().strip()
        response = httpx.post(url, json={"name": "DevCheck"}, headers={"Authorization": f"Bearer {dev_key}"},
                              timeout=10)
        assert response.status_code == 202
        # As deploy/ runs them: the stages in a worker without storage, PostgreSQL in a store process.
        commands = {" ".join(child.cmdline()[3:]) for child in psutil.Process(proc.pid).children()}
        assert {"worker --no-store", "store", "edge"} <= commands, commands
        pgdata = str((tmp_path / "state" / "pgdata").resolve())
        assert _postgres_for(pgdata), "dev should have started an embedded PostgreSQL"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out
        assert "curl -sS -X POST" in out  # the ready-to-paste example
        assert f"-H 'Authorization: Bearer {dev_key}'" in out  # ... with the dev key in it
        deadline = time.monotonic() + 10
        while _postgres_for(pgdata) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _postgres_for(pgdata), "Ctrl-C must stop the embedded PostgreSQL"
    finally:
        if proc.poll() is None:
            proc.kill()
