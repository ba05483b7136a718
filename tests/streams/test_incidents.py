"""Incident rules with a deterministic clock: the alert's own received_at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alertstream.schemas.records import Link, NormalizedAlert
from alertstream.streams.incidents import (
    IncidentPolicy,
    IncidentState,
    apply_alert,
    correlation_key,
    is_material,
)

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
POLICY = IncidentPolicy()


def alert(fp: str, status: str = "firing", severity: str = "warning", at: timedelta = timedelta(0),
          host: str = "web-1", name: str = "CPUHigh") -> NormalizedAlert:
    return NormalizedAlert(fingerprint=fp, source="generic", name=name, status=status, severity=severity,
                           labels={"alertname": name, "instance": host}, event_id=f"{fp}-{status}-{at}",
                           trace_id="t", received_at=T0 + at)


def run(*alerts: NormalizedAlert) -> tuple[IncidentState | None, list[str]]:
    state, reasons = None, []
    for a in alerts:
        state, reason = apply_alert(state, a, POLICY)
        if reason:
            reasons.append(reason)
    return state, reasons


def test_correlation_key_is_alertname_and_first_host_label() -> None:
    a = NormalizedAlert(fingerprint="f", source="s", name="X", status="firing", severity="info",
                        labels={"alertname": "X", "host": "h", "instance": "i"})
    assert correlation_key(a, POLICY) == "X|i"
    b = NormalizedAlert(fingerprint="f", source="s", name="Y", status="firing", severity="info", labels={})
    assert correlation_key(b, POLICY) == "Y|"


def test_firing_opens_and_all_resolved_resolves() -> None:
    state, reasons = run(alert("a"), alert("b", at=timedelta(seconds=1)),
                         alert("a", "resolved", at=timedelta(seconds=2)),
                         alert("b", "resolved", at=timedelta(seconds=3)))
    assert reasons == ["opened", "alert_added", "resolved"]
    assert state is not None and state.status == "resolved" and state.version == 3


def test_versions_are_monotonic_and_severity_only_rises() -> None:
    state, reasons = run(alert("a", severity="warning"), alert("a", severity="critical", at=timedelta(seconds=1)),
                         alert("a", severity="info", at=timedelta(seconds=2)))
    assert reasons == ["opened", "severity_raised"]
    assert state.severity == "critical" and state.version == 2


def test_acknowledgement_is_not_a_resolution() -> None:
    state, reasons = run(alert("a"), alert("a", "acknowledged", at=timedelta(seconds=1)))
    assert reasons == ["opened", "acknowledged"]
    assert state.status == "acknowledged"


def test_refire_within_reopen_window_reopens_after_it_opens_new() -> None:
    state, reasons = run(alert("a"), alert("a", "resolved", at=timedelta(minutes=1)),
                         alert("a", at=timedelta(minutes=30)))
    assert reasons == ["opened", "resolved", "reopened"]
    first_id = state.incident_id
    state, reasons = run(alert("a"), alert("a", "resolved", at=timedelta(minutes=1)),
                         alert("a", at=timedelta(hours=2)))
    assert reasons == ["opened", "resolved", "opened"]
    assert state.incident_id != first_id or state.version == 1


def test_resolved_alert_without_incident_announces_nothing() -> None:
    state, reasons = run(alert("a", "resolved"))
    assert state is None and reasons == []


def test_ids_are_deterministic_so_a_replay_rebuilds_the_same_incidents() -> None:
    stream = [alert("a"), alert("b", at=timedelta(seconds=1)), alert("a", "resolved", at=timedelta(seconds=2))]
    assert run(*stream)[0].to_json() == run(*stream)[0].to_json()


def test_state_survives_a_json_round_trip() -> None:
    state, _ = run(alert("a"), alert("b", at=timedelta(seconds=1)))
    assert IncidentState.from_json(state.to_json()) == state


def test_materiality() -> None:
    a = alert("a")
    assert is_material(None, a)
    assert not is_material({"status": "firing", "severity": "warning"}, a)
    assert is_material({"status": "firing", "severity": "critical"}, a)
    assert is_material({"status": "resolved", "severity": "warning"}, a)


def test_state_json_is_what_asdict_gives_with_times_as_text() -> None:
    import dataclasses

    state, _ = run(alert("a"), alert("b", at=timedelta(seconds=1)), alert("a", "resolved", at=timedelta(seconds=2)))
    state = dataclasses.replace(state, silenced_by=["s1"], offsets={"alerts.changes": 7}, partition=2)
    first = next(iter(state.members))
    state.members[first] = dataclasses.replace(state.members[first], links=[Link("runbook", "https://r/1")])
    expected = dataclasses.asdict(state)
    for key in ("opened_at", "updated_at", "resolved_at", "notified_at", "pending_due"):
        expected[key] = expected[key].isoformat() if expected[key] else None
    for member in expected["members"].values():
        for key in ("starts_at", "ends_at"):
            member[key] = member[key].isoformat() if member[key] else None
    assert state.to_json() == expected
    assert list(state.to_json()) == list(expected)  # same field order, same changelog bytes
