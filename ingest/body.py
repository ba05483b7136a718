"""Reading a webhook body: content type, size limit, strict JSON — before any parsing by a driver."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from alertstream.storage.db import holds_nul

from .jsonlimits import JSONLimitError, loads_strict
from .responses import EdgeError


def require_json_content_type(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise EdgeError(415, "unsupported media type", hint="send Content-Type: application/json")


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, reading no more than `limit` bytes from the socket."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise EdgeError(413, "body too large", limit_bytes=limit)
        except ValueError:
            raise EdgeError(400, "invalid Content-Length header") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise EdgeError(413, "body too large", limit_bytes=limit)
        chunks.append(chunk)
    return b"".join(chunks)


def decode_json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise EdgeError(400, "empty body", hint="send a JSON object")
    try:
        payload = loads_strict(raw)
    except JSONLimitError as exc:
        raise EdgeError(400, exc.reason) from None
    if not isinstance(payload, dict):
        raise EdgeError(400, f"a JSON object is expected, got {type(payload).__name__}")
    # JSON can only carry NUL as the escape \u0000: the cheap byte search spares every other body the walk.
    if b"\\u0000" in raw and holds_nul(payload):
        raise EdgeError(400, "a string holds NUL (\\u0000), which the incident store cannot keep")
    return payload


