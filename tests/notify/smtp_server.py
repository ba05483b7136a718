"""A local SMTP server (aiosmtpd) with a self-signed certificate, STARTTLS or implicit
TLS, login, and scripted replies for the next RCPT (e.g. 451 or 550) or a slow DATA."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import ssl
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from alertstream.embedded import free_port

USER, PASSWORD = "alerts@example.test", "smtp-pass-7Hq2ZrXw"


def self_signed(directory: Path) -> tuple[Path, Path, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path.write_bytes(pem)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, pem.decode()


@dataclass
class SmtpState:
    port: int
    ca_pem: str
    messages: list[Message] = field(default_factory=list)
    rcpt_script: deque[str] = field(default_factory=deque)
    data_delay_s: float = 0.0
    logins: list[str] = field(default_factory=list)


class Handler:
    def __init__(self, state: SmtpState) -> None:
        self.state = state

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if self.state.rcpt_script:
            return self.state.rcpt_script.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.state.data_delay_s:
            await asyncio.sleep(self.state.data_delay_s)
        self.state.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


def _authenticator(state: SmtpState) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER \
            and auth_data.password.decode() == PASSWORD
        if ok:
            state.logins.append(USER)
        return AuthResult(success=ok, handled=False)

    return check


@contextmanager
def smtp_server(tmp: Path, implicit_tls: bool = False) -> Iterator[SmtpState]:
    cert, key, pem = self_signed(tmp)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    state = SmtpState(free_port(), pem)
    kwargs: dict[str, Any] = {"ssl_context": context} if implicit_tls else {
        "tls_context": context, "require_starttls": True}
    # aiosmtpd logs every lost connection at INFO from its own thread, sometimes after the test that
    # made it has ended and pytest has closed the stream the record would go to ("Logging error").
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(
        Handler(state), hostname="127.0.0.1", port=state.port, authenticator=_authenticator(state),
        auth_require_tls=True, server_hostname="localhost", ready_timeout=10, **kwargs,
    )
    controller.start()
    try:
        yield state
    finally:
        controller.stop()
