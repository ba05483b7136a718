"""Input limits through the real edge: every refusal is a 4xx with a JSON reason, never a 500,
and an oversized body is not read past the limit."""

from __future__ import annotations

import pytest

from alertstream.config import Settings
from alertstream.ingest.app import create_app
from alertstream.streams.admin import ensure_topics

from ..components import key_headers
from .edge_client import edge_client, with_edge

pytestmark = pytest.mark.integration

JSON = {"content-type": "application/json"}
LIMIT = 4096


def nested(depth: int) -> bytes:
    return b'{"name": "deep", "labels": {"x": "1"}, "extra": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


CASES = [
    ("not JSON content type", {"content-type": "text/plain"}, b'{"name": "x"}', 415, "unsupported media type"),
    ("form content type", {"content-type": "application/x-www-form-urlencoded"}, b"name=x", 415,
     "unsupported media type"),
    ("no content type", {}, b'{"name": "x"}', 415, "unsupported media type"),
    ("declared too large", {**JSON, "content-length": str(LIMIT + 1)}, b"{}", 413, "body too large"),
    ("too large", JSON, b'{"name": "' + b"x" * LIMIT + b'"}', 413, "body too large"),
    ("non-UTF-8", JSON, b'{"name": "caf\xe9"}', 400, "UTF-8"),
    ("byte order mark", JSON, b'\xef\xbb\xbf{"name": "x"}', 400, "invalid JSON"),
    ("invalid JSON", JSON, b'{"name": "x",', 400, "invalid JSON"),
    ("trailing garbage", JSON, b'{"name": "x"} {"name": "y"}', 400, "invalid JSON"),
    ("lone surrogate", JSON, b'{"name": "\\ud800"}', 400, "invalid JSON"),
    ("depth 65", JSON, nested(65), 400, "nest"),
    ("NaN", JSON, b'{"name": "x", "value": NaN}', 400, "NaN"),
    ("Infinity", JSON, b'{"name": "x", "value": -Infinity}', 400, "NaN"),
    ("overflowing number", JSON, b'{"name": "x", "value": 1e999}', 400, "invalid JSON"),
    ("too many alerts", JSON, b'{"alerts": [' + b",".join([b'{"name": "a"}'] * 4) + b"]}", 400, "too many alerts"),
    ("bad content length", {**JSON, "content-length": "ten"}, b"{}", 400, "Content-Length"),
]


@pytest.fixture
async def limited(settings: Settings, api_key: str):  # type: ignore[no-untyped-def]
    async with edge_client(with_edge(settings, max_body_bytes=LIMIT, max_alerts_per_request=3),
                           key_headers(api_key)) as (_, c):
        yield c


@pytest.mark.parametrize(("case", "headers", "body", "status", "reason"), CASES, ids=[c[0] for c in CASES])
async def test_refusals_are_json_4xx(limited, case, headers, body, status, reason) -> None:  # type: ignore[no-untyped-def]
    response = await limited.post("/alerts/webhook/", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert reason in response.text


async def test_depth_64_and_three_alerts_pass(limited) -> None:  # type: ignore[no-untyped-def]
    assert (await limited.post("/alerts/webhook/", content=nested(63), headers=JSON)).status_code == 202
    three = b'{"alerts": [' + b",".join([b'{"name": "a"}'] * 3) + b"]}"
    assert (await limited.post("/alerts/webhook/", content=three, headers=JSON)).status_code == 202


class Body:
    """An ASGI receive() that counts how much of the body the app pulled."""

    def __init__(self, chunk: int, chunks: int) -> None:
        self.chunk, self.left, self.pulled = chunk, chunks, 0

    async def __call__(self) -> dict:
        if self.left == 0:
            return {"type": "http.disconnect"}
        self.left -= 1
        self.pulled += self.chunk
        return {"type": "http.request", "body": b" " * self.chunk, "more_body": self.left > 0}


async def _call(app, headers: dict[str, str], body: Body) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/alerts/webhook/", "raw_path": b"/alerts/webhook/", "query_string": b"", "root_path": "",
        "client": ("127.0.0.1", 5000), "server": ("edge", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, body, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def test_oversized_body_is_not_read_past_the_limit(settings: Settings, api_key: str) -> None:
    ensure_topics(settings.kafka)
    app = create_app(with_edge(settings, max_body_bytes=LIMIT))
    headers = {**JSON, **key_headers(api_key)}
    async with app.router.lifespan_context(app):
        declared = Body(1024, 1000)
        status, _ = await _call(app, {**headers, "content-length": str(1024 * 1000)}, declared)
        assert status == 413 and declared.pulled == 0  # refused on the declared length, nothing read
        streamed = Body(1024, 1000)  # chunked: no length declared
        status, text = await _call(app, headers, streamed)
        assert status == 413 and b"body too large" in text
        assert streamed.pulled <= LIMIT + 1024  # stopped at the first chunk past the limit
