"""The one redaction pass shared by the edge, analysis prompts and logs.

Secret-looking values become `[REDACTED:<kind>]`. Every pattern is anchored on
something unmistakable (a key name, a vendor prefix, a PEM marker) so ordinary
text — hostnames, numbers, `tokenizer`, "password reset failed" — passes
untouched.

This runs on every alert, so it is built for the common case of no secret:
patterns are compiled once, each runs only when a literal "tell" substring is
present, and the case-insensitive ones match an ASCII-lowercased copy with
case-sensitive, literal-first regexes (Python's `re` is several times slower
with IGNORECASE and with a pattern that starts with a lookbehind).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import string
from collections.abc import Callable, Mapping
from typing import Any

from alertstream.schemas.records import NormalizedAlert

_MARK = "[REDACTED:{}]"

# Lowercases ASCII only: unlike str.lower() it never changes the length, so a
# match position in the folded copy is the same position in the original.
_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_WORD_CHARS = frozenset(string.ascii_letters + string.digits)

# PEM blocks; an unterminated one (a truncated alert) is redacted to the end.
_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|.*\Z)",
    re.DOTALL,
)

# Slack incoming webhooks are credentials by URL; keep the host for debugging.
_SLACK_WEBHOOK = re.compile(r"(https://hooks\.slack\.com/)(?:services|workflows|triggers)/[A-Za-z0-9/_-]+")

# userinfo with a password: scheme://user:pass@host. Stops at whitespace and the
# path, and runs to the last '@' because real passwords contain unescaped '@'.
# A user alone (ssh://git@host) is not a credential.
_URL_CREDENTIALS = re.compile(r"(://)[^\s/?#@:]*:[^\s/?#]*@")

# What may follow a key: a closing quote (also JSON-escaped), then = or :.
_SEP = r"""(?:\\?["'])?[ \t]*[:=][ \t]*"""
# A value: quoted (also JSON-escaped inside a string) or a bare run. Never one
# already redacted, so passes do not chew on each other's marks.
_VALUE = r"""(?!\[redacted:)(?:\\"[^"]*?\\"|"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;&"'}\]]+)"""

# Header values carry an auth scheme then the credential ("Bearer x", "Basic y").
_AUTH_HEADER = re.compile(
    r"authorization(?P<sep>" + _SEP + r""")(?P<value>(?!\[redacted:)(?:\\"[^"]*?\\"|"[^"]*"|'[^']*'"""
    r"""|(?:[a-z]+[ \t]+)?[^\s,;"'}\]]+))"""
)

# key=value, key: value, "key": "value". The secret word must end the key (so
# `tokenizer=` and `token_type=` pass) and start it or follow a separator
# (`db_password`, `aws_secret_access_key`, `X-Api-Key`; not `mypassword`).
_NAMES = (
    r"(?:password|passwd|pwd|passphrase|secret(?:[_-]?key)?|token"
    r"|api[_-]?key|apikey|access[_-]?key|private[_-]?key)"
)
_KEY_TELLS = ("pass", "pwd", "secret", "token", "apikey", "api_key", "api-key", "access", "private")
_KEY_VALUE = re.compile(r"(?P<word>" + _NAMES + r")(?P<sep>" + _SEP + r")(?P<value>" + _VALUE + ")")

# RFC 6750 token68 after "Bearer"; a digit or 20+ characters tells a token from
# prose such as "bearer authentication".
_BEARER = re.compile(
    r"bearer(?P<sep>[ \t]+)(?P<value>(?!\[redacted:)"
    r"(?:(?=[a-z._~+/-]*\d)[a-z0-9._~+/-]{8,}|[a-z0-9._~+/-]{20,})=*)"
)

# Fixed vendor formats: the prefix is the whole tell.
_TOKENS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    ("aws-access-key-id", ("AKIA", "ASIA"), re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    (
        "slack-token",
        ("xox", "xapp-"),
        re.compile(r"\b(?:xox[abeoprs]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})"),
    ),
    (
        "github-token",
        ("gho_", "ghp_", "ghr_", "ghs_", "ghu_", "github_pat_"),
        re.compile(r"\b(?:gh[oprsu]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
    ),
)

# A mapping key that names a secret: the whole value goes, whatever its type.
_SECRET_KEY_NAME = re.compile(
    r"(?:[a-z0-9_.-]*[_.-])?(?P<word>" + _NAMES + r"|(?:proxy-)?authorization|cookie|set-cookie)",
    re.IGNORECASE,
)


def _kind(word: str) -> str:
    word = word.lower().replace("-", "_")
    if word in ("password", "passwd", "pwd", "passphrase"):
        return "password"
    if word == "token":
        return "token"
    if word in ("api_key", "apikey"):
        return "api-key"
    if word.endswith("authorization"):
        return "authorization"
    if word in ("cookie", "set_cookie"):
        return "cookie"
    if word in ("private_key", "privatekey"):
        return "private-key"
    return "secret"


def _quoted(value: str, mark: str) -> str:
    """Keep the quoting so JSON-ish text stays parseable after redaction."""
    for quote in ('\\"', '"', "'"):
        if len(value) >= 2 * len(quote) and value.startswith(quote) and value.endswith(quote):
            return quote + mark + quote
    return mark


def _splice(pattern: re.Pattern[str], text: str, kind: Callable[[re.Match[str]], str]) -> str:
    """Match on the folded copy; rebuild from the original with each `value` group redacted.

    A match glued to a preceding letter or digit is left alone (`xauthorization:`);
    checking here keeps a lookbehind out of the literal-first patterns.
    """
    folded = text.translate(_FOLD)
    parts: list[str] = []
    last = 0
    for m in pattern.finditer(folded):
        start = m.start()
        if start and folded[start - 1] in _WORD_CHARS:
            continue
        value_start = m.start("value")
        parts.append(text[last:value_start])
        parts.append(_quoted(text[value_start : m.end()], _MARK.format(kind(m))))
        last = m.end()
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)


# Every rule's tell, lowercased, in one alternation: most text holds none, and one scan in C
# decides that instead of a Python-level test per tell. A superset of the rules' own checks.
_ANY_TELL = re.compile("|".join(re.escape(t.lower()) for t in (
    "private key-----", "hooks.slack.com/", "://", "authorization", *_KEY_TELLS, "bearer",
    *(tell for _, tells, _ in _TOKENS for tell in tells),
)))


def redact_text(text: str) -> str:
    """`text` with every secret-looking value replaced by `[REDACTED:<kind>]`."""
    if not text:
        return text
    low = text.lower()
    if _ANY_TELL.search(low) is None:
        return text
    # Order matters: whole blocks and URLs first, so later key=value rules
    # never see half of a PEM body or a URL password.
    if "PRIVATE KEY-----" in text:
        text = _PRIVATE_KEY.sub(_MARK.format("private-key"), text)
    if "hooks.slack.com/" in text:
        text = _SLACK_WEBHOOK.sub(r"\1" + _MARK.format("slack-webhook"), text)
    if "://" in text and "@" in text:
        text = _URL_CREDENTIALS.sub(r"\1" + _MARK.format("url-credentials") + "@", text)
    low = text.lower()
    if "authorization" in low:
        text = _splice(_AUTH_HEADER, text, lambda m: "authorization")
    if any(tell in low for tell in _KEY_TELLS):
        text = _splice(_KEY_VALUE, text, lambda m: _kind(m.group("word")))
    if "bearer" in low:
        text = _splice(_BEARER, text, lambda m: "bearer")
    for kind, tells, pattern in _TOKENS:
        if any(tell in text for tell in tells):
            text = pattern.sub(_MARK.format(kind), text)
    return text


@functools.lru_cache(maxsize=4096)
def secret_key_kind(key: str) -> str | None:
    """The redaction kind when a mapping key names a secret, else None.

    Cached: label and annotation keys repeat across nearly every alert."""
    m = _SECRET_KEY_NAME.fullmatch(key)
    return _kind(m.group("word")) if m else None


def redact_value(value: Any) -> Any:
    """Strings redacted, containers walked, other scalars returned as they are."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return redact_mapping(value)
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_value(v) for v in value)
    return value


def redact_mapping(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
    """A new dict: values redacted, and values under secret-naming keys replaced whole."""
    out: dict[Any, Any] = {}
    for key, value in mapping.items():
        kind = secret_key_kind(key) if isinstance(key, str) else None
        if kind is not None and value is not None and value != "":
            out[key] = _MARK.format(kind)
        else:
            out[key] = redact_value(value)
    return out


def redact_alert(alert: NormalizedAlert, **also: Any) -> NormalizedAlert:
    """The edge's Redactor: name, labels, annotations, link URLs and group key. The
    fingerprint and dedup key are identities computed before this and stay as they are.
    `also` sets other fields in the same copy (the edge's envelope: a copy costs microseconds)."""
    return dataclasses.replace(
        alert,
        **also,
        name=redact_text(alert.name),  # generic senders put whole messages, DSNs included, in the name
        labels=redact_mapping(alert.labels),
        annotations=redact_mapping(alert.annotations),
        links=[dataclasses.replace(link, url=redact_text(link.url)) for link in alert.links],
        group_key=redact_text(alert.group_key),
    )


def url_origin(arg: Any) -> Any:
    """A URL object (httpx's, yarl's) as its origin only: a channel or provider URL carries its token
    in the path or query, which no pattern can tell from an ordinary path. Other arguments as they are."""
    if type(arg).__name__ != "URL" or not hasattr(arg, "scheme") or not hasattr(arg, "host"):
        return arg
    port = getattr(arg, "port", None)
    return f"{arg.scheme}://{arg.host}{f':{port}' if port else ''}/…"


class RedactingFilter(logging.Filter):
    """Redacts the formatted message, exception text and stack of every record.

    Formatting happens here (then args are dropped) because a secret usually
    arrives as an argument: `log.info("connect %s", url)`. Attach it to handlers,
    so records from every library pass through it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(url_origin(a) for a in record.args)
        try:
            message = record.getMessage()
        except Exception:  # a bad format must not reach handleError, which prints the raw args
            message = f"{record.msg!s} args={record.args!r}"
        record.msg = redact_text(message)
        # An empty tuple, not None: mode's formatter (faust workers) iterates args, and a TypeError inside
        # a handler prints a traceback that is logged again on every record.
        record.args = ()
        if record.exc_info and not record.exc_text:
            # Formatter reuses a pre-set exc_text instead of formatting the traceback again.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


__all__ = [
    "RedactingFilter",
    "redact_alert",
    "redact_mapping",
    "redact_text",
    "redact_value",
    "secret_key_kind",
]
