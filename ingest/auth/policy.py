"""Per-source authentication policies, built from plain data and validated on load.

The data maps a source (driver) name to its policy, e.g. as read from the JSON file
the settings name:

    {"grafana-prod": {"schemes": {"grafana": {"secrets": ["new", "old"]}}},
     "alertmanager": {"schemes": {"basic": {"credentials": [{"username": "am", "password": "…"}]},
                                  "token": {"tokens": ["…"]}}},
     "dev-box": {"required": false, "schemes": {"token": {"tokens": ["…"]}}}}

Every secret is listed as an active one (rotation: add the new, then drop the old).
`required` defaults to true: requests without credentials are refused. With false,
requests without credentials pass (dev) but wrong credentials are still refused.
A bad file fails start-up with a ValueError naming the source, scheme and key, never a value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

from alertstream.secrets import Secret

from .signatures import DEFAULT_TOLERANCE_S, standard_webhooks_secret

_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")  # an RFC 9110 token


@dataclass(frozen=True)
class GrafanaScheme:
    NAME: ClassVar[str] = "grafana"
    secrets: tuple[Secret[bytes], ...]
    signature_header: str = "x-grafana-alerting-signature"
    # Set by default so the timestamp is signed and checked; null in the config turns it off
    # for contact points whose hmac_config has no timestamp_header.
    timestamp_header: str | None = "x-grafana-alerting-timestamp"
    tolerance_s: int = DEFAULT_TOLERANCE_S


@dataclass(frozen=True)
class PagerDutyScheme:
    NAME: ClassVar[str] = "pagerduty"
    secrets: tuple[Secret[bytes], ...]


@dataclass(frozen=True)
class GitHubScheme:
    NAME: ClassVar[str] = "github"
    secrets: tuple[Secret[bytes], ...]


@dataclass(frozen=True)
class StandardWebhooksScheme:
    NAME: ClassVar[str] = "standardwebhooks"
    secrets: tuple[Secret[bytes], ...]
    tolerance_s: int = DEFAULT_TOLERANCE_S


@dataclass(frozen=True)
class BasicCredential:
    username: Secret[bytes]  # compared in constant time like the password, so wrapped the same way
    password: Secret[bytes]


@dataclass(frozen=True)
class BasicScheme:
    NAME: ClassVar[str] = "basic"
    credentials: tuple[BasicCredential, ...]


@dataclass(frozen=True)
class TokenScheme:
    NAME: ClassVar[str] = "token"
    tokens: tuple[Secret[bytes], ...]


Scheme: TypeAlias = (
    GrafanaScheme | PagerDutyScheme | GitHubScheme | StandardWebhooksScheme | BasicScheme | TokenScheme
)


@dataclass(frozen=True)
class SourcePolicy:
    source: str
    schemes: tuple[Scheme, ...]  # any one passing admits; checked in this order
    required: bool = True


def load_policies(data: Mapping[str, Any]) -> dict[str, SourcePolicy]:
    if not isinstance(data, Mapping):
        raise ValueError("auth policies must be an object of source name -> policy")
    policies = {}
    for source, raw in data.items():
        if not isinstance(source, str) or not source.strip():
            raise ValueError("auth policies: a source name must be a non-empty string")
        policies[source] = _policy(source, raw)
    return policies


def read_policies(path: str | Path) -> dict[str, SourcePolicy]:
    """load_policies over a JSON file (the settings name it; see the module docstring)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"auth policies: cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:  # its message holds a position, not the text
        raise ValueError(f"auth policies: {path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    return load_policies(data)


def _policy(source: str, raw: Any) -> SourcePolicy:
    where = f"auth policy {source!r}"
    options = _options(where, raw, {"required", "schemes"})
    required = options.get("required", True)
    if not isinstance(required, bool):
        raise ValueError(f"{where}: 'required' must be true or false")
    schemes_raw = options.get("schemes", {})
    if not isinstance(schemes_raw, Mapping):
        raise ValueError(f"{where}: 'schemes' must be an object of scheme name -> options")
    schemes: list[Scheme] = []
    for name, scheme_options in schemes_raw.items():
        builder = _BUILDERS.get(name)
        if builder is None:
            raise ValueError(f"{where}: unknown scheme {name!r}; known: {', '.join(sorted(_BUILDERS))}")
        schemes.append(builder(f"{where}, scheme {name!r}", scheme_options))
    if required and not schemes:
        raise ValueError(f"{where}: a required source needs at least one scheme (or 'required': false)")
    return SourcePolicy(source=source, schemes=tuple(schemes), required=required)


def _grafana(where: str, raw: Any) -> GrafanaScheme:
    options = _options(where, raw, {"secrets", "signature_header", "timestamp_header", "tolerance_s"})
    signature_header = options.get("signature_header", GrafanaScheme.signature_header)
    timestamp_header = options.get("timestamp_header", GrafanaScheme.timestamp_header)
    if timestamp_header is not None:
        timestamp_header = _header(where, "timestamp_header", timestamp_header)
    return GrafanaScheme(
        secrets=_text_secrets(where, options, "secrets"),
        signature_header=_header(where, "signature_header", signature_header),
        timestamp_header=timestamp_header,
        tolerance_s=_tolerance(where, options),
    )


def _pagerduty(where: str, raw: Any) -> PagerDutyScheme:
    return PagerDutyScheme(secrets=_text_secrets(where, _options(where, raw, {"secrets"}), "secrets"))


def _github(where: str, raw: Any) -> GitHubScheme:
    return GitHubScheme(secrets=_text_secrets(where, _options(where, raw, {"secrets"}), "secrets"))


def _standard_webhooks(where: str, raw: Any) -> StandardWebhooksScheme:
    options = _options(where, raw, {"secrets", "tolerance_s"})
    secrets = []
    for index, text in enumerate(_strings(where, options, "secrets")):
        try:
            secrets.append(standard_webhooks_secret(text))
        except ValueError as exc:
            raise ValueError(f"{where}: secrets[{index}]: {exc}") from None
    return StandardWebhooksScheme(secrets=tuple(secrets), tolerance_s=_tolerance(where, options))


def _basic(where: str, raw: Any) -> BasicScheme:
    options = _options(where, raw, {"credentials"})
    entries = options.get("credentials")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{where}: 'credentials' must be a non-empty list of {{username, password}}")
    credentials = []
    for index, entry in enumerate(entries):
        at = f"{where}: credentials[{index}]"
        fields = _options(at, entry, {"username", "password"})
        username, password = fields.get("username"), fields.get("password")
        # RFC 7617: the user-id cannot contain a colon; the password may.
        if not isinstance(username, str) or not username or ":" in username:
            raise ValueError(f"{at}: 'username' must be a non-empty string without ':'")
        if not isinstance(password, str) or not password:
            raise ValueError(f"{at}: 'password' must be a non-empty string")
        credentials.append(BasicCredential(_utf8(username), _utf8(password)))
    return BasicScheme(credentials=tuple(credentials))


def _token(where: str, raw: Any) -> TokenScheme:
    return TokenScheme(tokens=_text_secrets(where, _options(where, raw, {"tokens"}), "tokens"))


_BUILDERS: dict[str, Callable[[str, Any], Scheme]] = {
    GrafanaScheme.NAME: _grafana,
    PagerDutyScheme.NAME: _pagerduty,
    GitHubScheme.NAME: _github,
    StandardWebhooksScheme.NAME: _standard_webhooks,
    BasicScheme.NAME: _basic,
    TokenScheme.NAME: _token,
}


def _options(where: str, raw: Any, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be an object")
    unknown = sorted(str(key) for key in raw if key not in allowed)
    if unknown:
        known = ", ".join(sorted(allowed))
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {known}")
    return raw


def _strings(where: str, options: Mapping[str, Any], key: str) -> list[str]:
    values = options.get(key)
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise ValueError(f"{where}: {key!r} must be a non-empty list of non-empty strings")
    return values


def _text_secrets(where: str, options: Mapping[str, Any], key: str) -> tuple[Secret[bytes], ...]:
    return tuple(_utf8(value) for value in _strings(where, options, key))


def _utf8(text: str) -> Secret[bytes]:
    """Vendors that take a secret as typed (Grafana, PagerDuty, GitHub) sign with its UTF-8 bytes."""
    return Secret(text.encode("utf-8"))


def _header(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not _HEADER_NAME.fullmatch(value):
        raise ValueError(f"{where}: {key!r} must be an HTTP header name")
    return value.lower()


def _tolerance(where: str, options: Mapping[str, Any]) -> int:
    value = options.get("tolerance_s", DEFAULT_TOLERANCE_S)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 86_400:
        raise ValueError(f"{where}: 'tolerance_s' must be a whole number of seconds from 1 to 86400")
    return value
