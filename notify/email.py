"""Email over SMTP: STARTTLS (587), implicit TLS (465) or plain (25, for local
relays only), optional login, a text and an HTML part, `[SEVERITY]` in the subject.

settings: host, port, security (starttls|tls|none), username, password
(credential), from, to (list), ca_pem (extra trusted CA, PEM text), timeout_s,
max_alerts, templates {subject, text, html}.

SMTP replies (RFC 5321 §4.2.1): 4yz is transient -> retry; 5yz is permanent.
A failed login (535) or a server without STARTTLS is a configuration error.
The Message-ID is derived from the delivery key, so a resend after a crash
carries the same id and threading clients collapse it. A follow-up is a new message
("Update: analysis for …") that replies to the first one (In-Reply-To, References),
so mail clients thread it under the page it updates.
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import socket
import ssl
import time
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from alertstream.errors import Permanent, Retryable

from . import fields
from .base import ChannelConfig, Delivery, Outbound, Sent
from .message import message_context
from .outbound import checked_address
from .templates import ALERT_LINE, SUMMARY, UPDATE_TITLE, render, validate_overrides

TYPE = "email"
SECRET_FIELDS = frozenset({"password"})
FOLLOW_UPS = True
PORTS = {"starttls": 587, "tls": 465, "none": 25}
MAX_ALERTS = 50
SUBJECT = (
    UPDATE_TITLE
    + "{% if state != 'firing' %}[{{ state_label }}] {% endif %}[{{ severity_label }}] {{ incident.title }}"
)
TEXT = (
    SUMMARY + "\n\nStatus: {{ state_label }}\nSeverity: {{ incident.severity }}\n"
    "Incident: {{ incident.id }} (version {{ incident.version }}, lane {{ incident.lane }})\n"
    "{% if alerts +%}\nAlerts:\n{% for alert in alerts %}- " + ALERT_LINE + "\n{% endfor %}"
    "{% if more %}+{{ more }} more alerts\n{% endif %}{% endif %}"
    "{% if recommendations and state == 'firing' +%}\nNext steps:\n"
    "{% for r in recommendations %}{{ loop.index }}. {{ r.title }}\n{% endfor %}{% endif %}"
    "{% if links +%}\nLinks:\n{% for l in links %}- {{ l.kind }}: {{ l.url }}\n{% endfor %}{% endif %}"
)
HTML = (
    "<html><body style=\"font-family:sans-serif\">"
    "<div style=\"border-left:6px solid {{ colour }};padding-left:12px\">"
    "{% if update %}<p><b>Update</b>: analysis for incident {{ incident.id }} (version {{ incident.version }}),"
    " notified earlier with its analysis pending.</p>{% endif %}"
    "<h2 style=\"margin:0\">{% if state != 'firing' %}{{ state_label }}: {% endif %}{{ incident.title }}</h2>"
    "<p><b>{{ state_label }}</b> · severity <b>{{ incident.severity }}</b></p>"
    "{% if summary %}<p>{{ summary }}</p>{% endif %}"
    "{% if probable_cause %}<p>Probable cause: {{ probable_cause }}</p>{% endif %}"
    "{% if analysis_note %}<p><i>{{ analysis_note }}</i></p>{% endif %}</div>"
    "{% if alerts %}<ul>{% for alert in alerts %}<li><b>{{ alert.name }}</b> ({{ alert.severity }}, {{ alert.status }})"
    "{% if alert.summary %}: {{ alert.summary }}{% endif %}</li>{% endfor %}"
    "{% if more %}<li>+{{ more }} more alerts</li>{% endif %}</ul>{% endif %}"
    "{% if recommendations and state == 'firing' %}<h3>Next steps</h3><ol>"
    "{% for r in recommendations %}<li>{{ r.title }}</li>{% endfor %}</ol>{% endif %}"
    "{% if links %}<p>{% for l in links %}<a href=\"{{ l.url }}\">{{ l.kind }}</a> {% endfor %}</p>{% endif %}"
    "<p style=\"color:#777\">incident {{ incident.id }} v{{ incident.version }}</p></body></html>"
)
DEFAULT_TEMPLATES = {"subject": SUBJECT, "text": TEXT, "html": HTML}


def validate(settings: Mapping[str, Any]) -> dict[str, Any]:
    security = fields.choice(settings, "security", ("starttls", "tls", "none"), "starttls")
    port = settings.get("port", PORTS[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise fields.invalid("port must be an integer in [1, 65535]")
    username = fields.optional_text(settings, "username", max_len=256)
    password = fields.optional_text(settings, "password", max_len=1024)
    if bool(username) != bool(password):
        raise fields.invalid("username and password go together")
    if username and security == "none":
        raise fields.invalid("login needs security starttls or tls: a password is never sent in clear")
    return {
        "host": fields.text(settings, "host", max_len=253),
        "port": port,
        "security": security,
        "username": username,
        "password": password,
        "from": fields.text(settings, "from", max_len=320),
        "to": fields.string_list(settings, "to", required=True),
        "ca_pem": fields.optional_text(settings, "ca_pem", max_len=100_000),
        "timeout_s": fields.timeout(settings),
        "max_alerts": fields.positive_int(settings, "max_alerts", MAX_ALERTS, 1000),
        "templates": validate_overrides(settings.get("templates"), DEFAULT_TEMPLATES, html=frozenset({"html"})),
    }


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@alertstream>"


def build(settings: Mapping[str, Any], delivery: Delivery, now: float) -> EmailMessage:
    ctx = message_context(delivery.analysis, delivery.key, int(settings.get("max_alerts", MAX_ALERTS)))
    msg = EmailMessage()
    subject = " ".join(render("subject", DEFAULT_TEMPLATES, settings, ctx).split())  # no header injection
    msg["Subject"] = subject[:250]
    msg["From"] = settings["from"]
    msg["To"] = ", ".join(settings["to"])
    msg["Date"] = formatdate(now, localtime=False)
    msg["Message-ID"] = message_id(delivery.key)
    if delivery.first_key != delivery.key:  # a follow-up: a reply to the page it updates
        msg["In-Reply-To"] = msg["References"] = message_id(delivery.first_key)
    msg["X-Alertstream-Delivery"] = delivery.key
    msg.set_content(render("text", DEFAULT_TEMPLATES, settings, ctx))
    msg.add_alternative(render("html", DEFAULT_TEMPLATES, settings, ctx, html=True), subtype="html")
    return msg


def _tls_context(settings: Mapping[str, Any]) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.get("ca_pem"):
        try:
            context.load_verify_locations(cadata=settings["ca_pem"])
        except (ssl.SSLError, ValueError):
            raise fields.invalid("ca_pem is not a PEM certificate") from None
    return context


def _client(settings: Mapping[str, Any], address: str, context: ssl.SSLContext) -> smtplib.SMTP:
    """An SMTP client for settings['host'] that connects to the checked `address` only;
    TLS still verifies the certificate against the host name."""
    base: type[smtplib.SMTP] = smtplib.SMTP_SSL if settings["security"] == "tls" else smtplib.SMTP

    class Pinned(base):  # type: ignore[valid-type,misc]
        def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
            sock = socket.create_connection((address, port), timeout)
            if settings["security"] == "tls":
                return context.wrap_socket(sock, server_hostname=settings["host"])
            return sock

    kwargs: dict[str, Any] = {"timeout": settings["timeout_s"]}
    if settings["security"] == "tls":
        kwargs["context"] = context
    return Pinned(settings["host"], settings["port"], **kwargs)  # type: ignore[no-any-return]


def _send_sync(settings: Mapping[str, Any], msg: EmailMessage, address: str) -> None:
    context = _tls_context(settings)
    with _client(settings, address, context) as smtp:
        if settings["security"] == "starttls":
            smtp.starttls(context=context)
        if settings["username"]:
            smtp.login(settings["username"], settings["password"])
        smtp.send_message(msg)


def _smtp_error(code: int, reason: str) -> Exception:
    return Retryable(f"smtp_{code}") if 400 <= code < 500 else Permanent(f"smtp_{code}", reason)


async def send(channel: ChannelConfig, delivery: Delivery, out: Outbound) -> Sent:
    settings = validate(channel.settings)
    msg = build(settings, delivery, now=time.time())
    address = await checked_address(settings["host"], settings["port"], out)
    try:
        await asyncio.to_thread(_send_sync, settings, msg, address)
    except smtplib.SMTPAuthenticationError:
        raise Permanent("invalid_config", "smtp login failed") from None
    except smtplib.SMTPNotSupportedError:
        raise Permanent("invalid_config", "the server does not offer STARTTLS or AUTH") from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise _smtp_error(min(codes) if all(400 <= c < 500 for c in codes) else max(codes),
                          "recipients refused") from None
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, ...
        raise _smtp_error(exc.smtp_code, "server refused the message") from None
    except ssl.SSLCertVerificationError:
        raise Permanent("tls_verify_failed", "the server certificate does not verify") from None
    except TimeoutError:
        raise Retryable("timeout") from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:  # refused, reset, disconnected
        raise Retryable("connection_error", type(exc).__name__) from None
    return Sent(250)


