"""The driver registry. Order is detection order: most specific first, generic last.

Each detector looks at the envelope only (the keys that name the format); parse()
then validates the rest, so a malformed document of a known vendor gets a 400 naming
its problem instead of "unrecognized payload". Most formats cannot be mistaken for
one another; the order settles the few that can:

  cluster       our agents' batches: {"instance_id", "hostname", "alerts": [...]}. Before
                generic, whose {"alerts": [...]} envelope looks alike.
  grafana       unified alerting is Alertmanager's document plus orgId/title/state, so it
                must come before alertmanager; legacy alerts have title/ruleName/state.
  alertmanager  groupKey + alerts + version "4".
  pagerduty     {"event": {"event_type", "resource_type", "data"}} or {"messages": [...]}.
  opsgenie      {"action", "alert": {"alertId" | "alias"}}.
  newrelic      classic {incident_id, current_state} or issues {state, issueId | issueUrl};
                the issue payload has a "title", so it must come before generic.
  datadog       an id (alert_id, aggreg_key) and a state (alert_transition, alert_type). Its
                default payload has "title" and "org": before generic, and never detected by
                "org" alone, which many senders have.
  zabbix        event_id + event_value | event_status (the admin-built JSON).
  generic       anything with a name/alertname/title, or {"alerts": [such objects]}. Last:
                it accepts almost any alert-like object.

A driver that fails to import fails the process at start-up: a silently missing
driver would turn a vendor's alerts into 400s.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from . import alertmanager, cluster, datadog, generic, grafana, newrelic, opsgenie, pagerduty, zabbix
from .base import Driver, ParseError

DRIVERS: tuple[ModuleType, ...] = (
    cluster,
    grafana,
    alertmanager,
    pagerduty,
    opsgenie,
    newrelic,
    datadog,
    zabbix,
    generic,
)

BY_NAME: dict[str, ModuleType] = {d.NAME: d for d in DRIVERS}


def detect(payload: Any) -> ModuleType | None:
    """The first driver, in registry order, whose detector accepts the payload."""
    for driver in DRIVERS:
        if driver.detect(payload):
            return driver
    return None


__all__ = ["BY_NAME", "DRIVERS", "Driver", "ParseError", "detect"]
