"""Operator actions and silences against the real edge and worker: API and CLI, and what
the channels (the local receiver) see."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import httpx
import pytest

pytestmark = pytest.mark.integration


def fire(pipeline, name: str, severity: str = "critical", status: str = "firing") -> None:
    response = pipeline.post(json={"name": name, "severity": severity, "status": status,
                                   "labels": {"instance": "db-9"}})
    assert response.status_code == 202, response.text


def incident_for(pipeline, name: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pipeline.get("/incidents/", params={"since": "1h", "limit": "1000"}).json()["incidents"]
        ours = [i for i in found if i["title"].startswith(name)]
        if ours:
            return ours[0]
        time.sleep(0.2)
    raise AssertionError(f"no incident for {name}")


def wait_show(pipeline, incident_id: str, predicate, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    shown: dict = {}
    while time.monotonic() < deadline:
        shown = pipeline.get(f"/incidents/{incident_id}").json()
        if predicate(shown):
            return shown
        time.sleep(0.2)
    raise AssertionError(f"incident never reached the expected state: {shown}")


def cli(pipeline, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "alertstream", *args], env=pipeline.env, capture_output=True,
                          text=True, timeout=60)


def notified(pipeline, name: str, reason: str, count: int = 1, timeout: float = 30) -> list:
    return pipeline.receiver.wait_for(lambda r: r.json()["title"].startswith(name) and r.json()["reason"] == reason,
                                      count, timeout)


def test_acknowledge_note_resolve_close_flow_to_the_channels(pipeline) -> None:
    name = f"DiskFull-{uuid.uuid4().hex[:8]}"
    fire(pipeline, name)
    incident = incident_for(pipeline, name)
    iid = incident["incident_id"]
    assert incident["status"] == "open" and notified(pipeline, name, "opened")

    ack = pipeline.post(f"/incidents/{iid}/acknowledge", json={"note": "on it"})
    assert ack.status_code == 202, ack.text
    (sent,) = notified(pipeline, name, "acknowledged")
    assert sent.json()["status"] == "acknowledged"
    assert pipeline.post(f"/incidents/{iid}/note", json={"note": "disk swapped"}).status_code == 202
    assert notified(pipeline, name, "note")

    out = cli(pipeline, "incidents", "resolve", iid, "--actor", "carol", "--note", "fixed")
    assert out.returncode == 0, out.stderr
    (resolved,) = notified(pipeline, name, "resolved")
    assert resolved.json()["lane"] == "all-clear"

    shown = wait_show(pipeline, iid, lambda s: s["status"] == "resolved" and len(s["timeline"]) >= 4)
    steps = [(e["reason"], e["actor"], e["note"]) for e in shown["timeline"]]
    assert steps[0][0] == "opened" and ("acknowledged", "e2e-session", "on it") in steps
    assert ("note", "e2e-session", "disk swapped") in steps and ("resolved", "carol", "fixed") in steps
    assert shown["timeline"][0]["alert_changes"][0]["to"] == {"status": "firing", "severity": "critical"}
    assert {r["stage"] for r in shown["refs"]} >= {"received", "checked"}
    assert shown["deliveries"] and {d["channel"] for d in shown["deliveries"]}

    listing = cli(pipeline, "incidents", "list", "--status", "resolved", "--since", "1h")
    assert listing.returncode == 0 and iid in listing.stdout
    show = cli(pipeline, "incidents", "show", iid)
    assert show.returncode == 0 and "acknowledged" in show.stdout and "note: disk swapped" in show.stdout

    assert pipeline.post(f"/incidents/{iid}/acknowledge").status_code == 409  # resolved: nothing to ack
    assert pipeline.post(f"/incidents/{iid}/close").status_code == 202
    wait_show(pipeline, iid, lambda s: s["status"] == "closed")
    assert pipeline.post(f"/incidents/{iid}/close").status_code == 409
    assert cli(pipeline, "incidents", "ack", iid).returncode == 1


def test_the_incidents_api_refuses_bad_input_with_reasons(pipeline) -> None:
    assert pipeline.post("/incidents/nope/acknowledge").status_code == 404
    assert pipeline.get("/incidents/nope").status_code == 404
    assert pipeline.post("/incidents/nope/explode").status_code == 404
    for params in ({"status": "sleeping"}, {"severity": "meh"}, {"since": "yesterday"}, {"limit": "0"}):
        response = pipeline.get("/incidents/", params=params)
        assert response.status_code == 400 and response.json()["error"], params
    name = f"Bad-{uuid.uuid4().hex[:8]}"
    fire(pipeline, name, severity="info")
    iid = incident_for(pipeline, name)["incident_id"]
    assert pipeline.post(f"/incidents/{iid}/note", json={"note": ""}).status_code == 400
    assert pipeline.post(f"/incidents/{iid}/note", content=b"{not json").status_code == 400
    assert httpx.get(pipeline.base_url + "/incidents/", timeout=10).status_code == 401  # no API key
    filtered = pipeline.get("/incidents/", params={"severity": "info", "source": "generic", "since": "1h"})
    assert iid in {i["incident_id"] for i in filtered.json()["incidents"]}


def test_a_silence_records_without_notifying_and_its_end_notifies(pipeline) -> None:
    name = f"Maint-{uuid.uuid4().hex[:8]}"
    created = pipeline.post("/silences/", json={"matchers": [f'alertname="{name}"'], "duration": "1h",
                                                "comment": "disk swap"})
    assert created.status_code == 201, created.text
    silence_id = created.json()["silence_id"]
    assert created.json()["state"] == "active" and created.json()["author"] == "e2e-session"
    time.sleep(1.5)  # the worker follows the silences topic
    fire(pipeline, name)
    iid = incident_for(pipeline, name)["incident_id"]
    shown = wait_show(pipeline, iid, lambda s: len(s["timeline"]) >= 1)
    assert shown["timeline"][0]["silenced_by"] == [silence_id] and shown["timeline"][0]["stages"] == []
    time.sleep(2)
    assert not pipeline.receiver.matching(lambda r: r.json()["title"].startswith(name))

    listed = cli(pipeline, "silences", "list")
    assert listed.returncode == 0 and silence_id in listed.stdout and "disk swap" in listed.stdout
    expired = cli(pipeline, "silences", "expire", silence_id)
    assert expired.returncode == 0, expired.stderr
    (sent,) = notified(pipeline, name, "silence_ended")
    assert sent.json()["status"] == "open"
    assert cli(pipeline, "silences", "expire", silence_id).returncode == 1  # already ended
    assert silence_id not in cli(pipeline, "silences", "list").stdout
    assert silence_id in cli(pipeline, "silences", "list", "--all").stdout


def test_silences_by_cli_and_api_validation(pipeline) -> None:
    added = cli(pipeline, "silences", "add", "-m", 'instance=~"lab-.*"',
                "--weekly", "sat,sun 22:00-06:00 Europe/Berlin", "--comment", "lab nights")
    assert added.returncode == 0, added.stderr
    silence_id = added.stdout.strip()
    got = pipeline.get(f"/silences/{silence_id}").json()
    assert got["weekly"][0]["timezone"] == "Europe/Berlin" and got["state"] in ("active", "waiting")
    assert silence_id in {s["silence_id"] for s in pipeline.get("/silences/").json()["silences"]}
    assert httpx.delete(f"{pipeline.base_url}/silences/{silence_id}", headers=pipeline.headers,
                        timeout=10).status_code == 200
    for bad in ({"matchers": []}, {"matchers": ['x=~".*"'], "duration": "1h"}, {"matchers": ["a=b"]},
                {"matchers": ["a=b"], "duration": "1h", "weekly": [{"days": ["mon"], "start": "9", "end": "10"}]}):
        response = pipeline.post("/silences/", json=bad)
        assert response.status_code == 400 and response.json()["error"], bad
    assert pipeline.post("/silences/", content=b"[").status_code == 400
    assert pipeline.get("/silences/nope").status_code == 404
    assert cli(pipeline, "silences", "add", "-m", "bad matcher").returncode == 2
