"""Console sessions as pure decisions: tokens, CSRF tokens, expiry, cookie flags, safe redirects.

A session is a random 256-bit token in an HttpOnly cookie scoped to /console; the
server keeps only its SHA-256 (storage/console_users.py), so logging out or disabling
a user ends it at once. The CSRF token of a session is an HMAC of the session token:
a page embeds it in every form, and a cross-site page can neither read the cookie nor
compute the token (the synchronizer-token pattern without another column).

SameSite=Lax, not Strict: a link to an incident in a Slack or e-mail notification must
open the console with the session; Lax still withholds the cookie from cross-site POSTs,
and every POST needs the CSRF token anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from datetime import datetime, timedelta

PREFIX = "/console"
COOKIE = "alertstream_console"
LOGIN_COOKIE = "alertstream_console_login"  # the login form's CSRF token (no session exists yet)
HOME = f"{PREFIX}/incidents"
LOGIN = f"{PREFIX}/login"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode("utf-8", "replace"), b"alertstream-console-csrf", hashlib.sha256).hexdigest()


def csrf_ok(expected: str, presented: str | None) -> bool:
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
    return bool(expected) and presented is not None and hmac.compare_digest(
        expected.encode("utf-8", "replace"), presented.encode("utf-8", "replace"))


def verdict(created_at: datetime, last_seen_at: datetime, now: datetime, idle_s: float, max_s: float) -> str:
    """'ok', 'idle' (unused for longer than idle_s) or 'expired' (older than max_s)."""
    if now - created_at >= timedelta(seconds=max_s):
        return "expired"
    if now - last_seen_at >= timedelta(seconds=idle_s):
        return "idle"
    return "ok"


def _host_only(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8080
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(host_header: str) -> bool:
    host = _host_only(host_header)
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cookie_secure(scheme: str, host_header: str) -> bool:
    """Secure always, except plain http to a loopback address (`alertstream dev`). Behind a
    TLS-terminating proxy the browser's origin is https, so a Secure cookie is what it wants."""
    return not (scheme == "http" and is_loopback(host_header))


def safe_next(raw: str | None) -> str:
    """Where to go after login: a console path of this site, never another origin."""
    if not raw or not raw.startswith(PREFIX + "/") or raw.startswith(LOGIN) or "\\" in raw or "//" in raw:
        return HOME
    if any(ord(c) < 0x21 for c in raw):
        return HOME
    return raw
