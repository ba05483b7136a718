"""Reading a console form: urlencoded only, size-limited, and a valid CSRF token or nothing.

Parsed with the standard library (the console's forms are small and urlencoded), so the
edge needs no multipart parser. Every refusal is a FormError with the status to answer.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from ..body import read_limited
from ..responses import EdgeError
from .session import csrf_ok

MAX_FORM_BYTES = 64 * 1024
MAX_FIELDS = 50


class FormError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_form(raw: bytes) -> dict[str, str]:
    """Pure: the first value of each field; undecodable bytes become U+FFFD and NULs go, never an error."""
    try:
        pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise FormError(400, f"a form has at most {MAX_FIELDS} fields") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value.replace("\x00", ""))  # PostgreSQL text cannot hold NUL
    return fields


async def read_form(request: Request, expected_csrf: str) -> dict[str, str]:
    """The form's fields, after checking its type, size and CSRF token (403 without a valid one)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise FormError(415, "the console accepts urlencoded forms only")
    try:
        raw = await read_limited(request, MAX_FORM_BYTES)
    except EdgeError as exc:
        raise FormError(exc.status, exc.error) from None
    fields = parse_form(raw)
    if not csrf_ok(expected_csrf, fields.get("csrf")):
        raise FormError(403, "the form's security token is missing or stale: reload the page and try again")
    return fields
