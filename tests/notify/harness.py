"""One harness per driver so the contract tests run every driver through the same checks.

A harness starts the driver's local receiver, builds channel settings that point
at it, scripts failures in the vendor's own terms, and reads back what a person
would see (title, colour, text) from what the receiver accepted.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alertstream.embedded import free_port
from alertstream.notify.base import ChannelConfig

from .receivers import (
    Scripted,
    VendorServer,
    opsgenie_contract,
    pagerduty_contract,
    slack_contract,
    teams_contract,
    vendor_server,
    webhook_contract,
)
from .smtp_server import PASSWORD, USER, SmtpState, smtp_server

ROUTING_KEY = "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey42"
GENIE_KEY = "genie-7b1f0c2a-secret-key"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-secret-0123456789").decode()
TOKEN_PATH = "/services/T000/B000/XXXXslacktokenXXXX"
TEAMS_PATH = "/workflows/abc/triggers/manual/paths/invoke?sig=teams-signature-secret"


@dataclass
class Seen:
    title: str
    colour: str
    text: str
    raw: Any = None


@dataclass
class Harness:
    type: str
    secrets: list[str]
    server: VendorServer | None = None
    smtp: SmtpState | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def channel(self, **overrides: Any) -> ChannelConfig:
        return ChannelConfig(f"{self.type}-test", self.type, {**self.settings, **overrides})

    def unreachable(self) -> ChannelConfig:
        """The same channel pointed at a port nothing listens on."""
        port = free_port()
        if self.type == "email":
            return self.channel(port=port)
        key = "base_url" if "base_url" in self.settings else "url"
        return self.channel(**{key: self.settings[key].replace(str(self.server.port), str(port))})  # type: ignore[union-attr]

    def fail_next(self, kind: str, times: int = 1) -> None:
        """retryable (5xx / SMTP 451), rate_limited (429 + Retry-After / 421), permanent (400 / 550), slow."""
        for _ in range(times):
            if self.smtp is not None:
                if kind == "slow":
                    self.smtp.data_delay_s = 1.0
                else:
                    self.smtp.rcpt_script.append({"retryable": "451 4.3.0 try again later",
                                                  "rate_limited": "452 4.5.3 too many recipients, slow down",
                                                  "permanent": "550 5.1.1 no such user"}[kind])
                continue
            assert self.server is not None
            self.server.script.append({
                "retryable": Scripted(503, {}, b"unavailable"),
                "rate_limited": Scripted(429, {"retry-after": "7"}, b"rate limited"),
                "permanent": Scripted(400, {}, b"bad request"),
                "slow": Scripted(200, {}, b"", delay_s=1.0),
            }[kind])

    def seen(self) -> list[Seen]:
        if self.smtp is not None:
            return [_mail(m) for m in self.smtp.messages]
        assert self.server is not None
        return [SEEN[self.type](r) for r in self.server.accepted]


def _mail(m: Any) -> Seen:
    html = next(p for p in m.walk() if p.get_content_type() == "text/html").get_content()
    text = next(p for p in m.walk() if p.get_content_type() == "text/plain").get_content()
    colour = html.split("border-left:6px solid ", 1)[1].split(";", 1)[0]
    return Seen(m["Subject"], colour, text, m)


def _slack(r: Any) -> Seen:
    doc = r.json()
    texts = [(b.get("text") or {}).get("text", "") for b in doc["blocks"] + doc["attachments"][0]["blocks"]]
    return Seen(doc["blocks"][0]["text"]["text"], doc["attachments"][0]["color"], "\n".join(texts), doc)


def _pagerduty(r: Any) -> Seen:
    doc = r.json()
    payload = doc.get("payload") or {}
    return Seen(payload.get("summary", doc["event_action"]), doc["event_action"], str(payload), doc)


def _opsgenie(r: Any) -> Seen:
    doc = r.json()
    action = r.path.rsplit("/", 1)[-1]
    return Seen(doc.get("message") or doc.get("note", ""), action if action != "alerts" else doc["priority"],
                doc.get("description", ""), doc)


def _teams(r: Any) -> Seen:
    doc = r.json()
    body = doc["attachments"][0]["content"]["body"]
    title = body[0]["items"][0]
    texts = [i.get("text", "") for i in body[0]["items"][1:]] + [b.get("text", "") for b in body]
    texts += [f"{f['title']}: {f['value']}" for b in body for f in b.get("facts", [])]
    return Seen(title["text"], title["color"], "\n".join(texts), doc)


def _webhook(r: Any) -> Seen:
    doc = r.json()
    label = (doc["severity"] if doc["state"] == "firing" else doc["state"]).upper()  # the machine-readable state
    return Seen(f"[{label}] {doc['title']}", doc["state"], f"+{doc['truncated_alerts']} more", doc)


SEEN = {"slack": _slack, "pagerduty": _pagerduty, "opsgenie": _opsgenie, "teams": _teams, "webhook": _webhook}
TYPES = ("webhook", "slack", "email", "pagerduty", "opsgenie", "teams")


@contextmanager
def harness(kind: str, tmp: Path) -> Iterator[Harness]:
    if kind == "email":
        with smtp_server(tmp) as smtp:
            yield Harness("email", [PASSWORD], smtp=smtp, settings={
                "host": "localhost", "port": smtp.port, "security": "starttls", "username": USER,
                "password": PASSWORD, "from": "alertstream@example.test", "to": ["oncall@example.test"],
                "ca_pem": smtp.ca_pem, "timeout_s": 1.0,
            })
        return
    contract, secrets, settings = {
        "webhook": (webhook_contract(WEBHOOK_SECRET), [WEBHOOK_SECRET, "hook-token-123"],
                    {"secret": WEBHOOK_SECRET, "headers": {"x-team": "db"}}),
        "slack": (slack_contract, [TOKEN_PATH, "slacktoken"], {}),
        "pagerduty": (pagerduty_contract(ROUTING_KEY), [ROUTING_KEY], {"routing_key": ROUTING_KEY}),
        "opsgenie": (opsgenie_contract(GENIE_KEY), [GENIE_KEY], {"api_key": GENIE_KEY}),
        "teams": (teams_contract, ["teams-signature-secret"], {}),
    }[kind]
    with vendor_server(contract) as server:
        urls = {
            "webhook": {"url": f"{server.base}/hook?token=hook-token-123"},
            "slack": {"url": server.base + TOKEN_PATH},
            "pagerduty": {"base_url": server.base},
            "opsgenie": {"base_url": server.base},
            "teams": {"url": server.base + TEAMS_PATH},
        }[kind]
        yield Harness(kind, secrets, server=server, settings={**settings, **urls, "timeout_s": 1.0})
