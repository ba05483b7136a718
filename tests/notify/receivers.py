"""Local receivers that follow each vendor's documented request and response contract.

An HTTP VendorServer checks every request the way the vendor does (shape, limits,
credentials) and answers like it (status and body); tests can script the next
responses (429 with Retry-After, 5xx bursts, slowness). `SmtpServer` is aiosmtpd
with STARTTLS or implicit TLS, login, and scripted SMTP replies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from alertstream.embedded import free_port

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Req:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Scripted:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_s: float = 0.0


@dataclass
class VendorServer:
    contract: Callable[[Req], Reply]
    port: int = field(default_factory=free_port)
    requests: list[Req] = field(default_factory=list)  # every request received
    accepted: list[Req] = field(default_factory=list)  # those the contract answered 2xx
    script: deque[Scripted] = field(default_factory=deque)
    down: bool = False  # answer 503 to everything (a receiver outage)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for(self, predicate: Callable[[Req], bool], count: int, timeout: float = 30.0) -> list[Req]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [r for r in self.accepted if predicate(r)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def handle(self, req: Req) -> Scripted | Reply:
        with self.lock:
            self.requests.append(req)
            if self.script:
                return self.script.popleft()
            if self.down:
                return Scripted(503, {}, b"down")
        status, headers, body = self.contract(req)
        if 200 <= status < 300:
            with self.lock:
                self.accepted.append(req)
        return status, headers, body


@contextmanager
def vendor_server(contract: Callable[[Req], Reply]) -> Iterator[VendorServer]:
    state = VendorServer(contract)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            split = urlsplit(self.path)
            req = Req("POST", split.path, parse_qs(split.query),
                      {k.lower(): v for k, v in self.headers.items()}, body)
            outcome = state.handle(req)
            if isinstance(outcome, Scripted):
                time.sleep(outcome.delay_s)
                status, headers, out = outcome.status, outcome.headers, outcome.body
            else:
                status, headers, out = outcome
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", state.port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _json(status: int, doc: Any) -> Reply:
    return status, {"content-type": "application/json"}, orjson.dumps(doc)


# --- Slack incoming webhooks: 200 "ok"; 400 "invalid_blocks"/"invalid_payload" --------------------------------

def slack_contract(req: Req) -> Reply:
    try:
        doc = req.json()
    except orjson.JSONDecodeError:
        return 400, {"content-type": "text/plain"}, b"invalid_payload"
    blocks = list(doc.get("blocks", [])) + [b for a in doc.get("attachments", []) for b in a.get("blocks", [])]
    if not (doc.get("text") or blocks) or len(blocks) > 50:
        return 400, {"content-type": "text/plain"}, b"invalid_blocks"
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        if (block["type"] == "header" and len(text) > 150) or len(text) > 3000:
            return 400, {"content-type": "text/plain"}, b"invalid_blocks"
    return 200, {"content-type": "text/plain"}, b"ok"


# --- PagerDuty Events API v2: 202 {"status": "success", ...}; 400 invalid event ---------------------------------

def pagerduty_contract(routing_key: str) -> Callable[[Req], Reply]:
    def contract(req: Req) -> Reply:
        if req.path != "/v2/enqueue":
            return _json(404, {"status": "not found"})
        try:
            doc = req.json()
        except orjson.JSONDecodeError:
            return _json(400, {"status": "invalid event", "message": "Event object is invalid", "errors": ["json"]})
        errors = []
        if doc.get("routing_key") != routing_key:
            errors.append("routing_key")
        if doc.get("event_action") not in ("trigger", "acknowledge", "resolve"):
            errors.append("event_action")
        if not doc.get("dedup_key") or len(doc["dedup_key"]) > 255:
            errors.append("dedup_key")
        if doc.get("event_action") == "trigger":
            payload = doc.get("payload") or {}
            if not 0 < len(payload.get("summary", "")) <= 1024 or not payload.get("source"):
                errors.append("payload")
            if payload.get("severity") not in ("critical", "error", "warning", "info"):
                errors.append("payload.severity")
        if len(req.body) > 512 * 1024:
            errors.append("size")
        if errors:
            return _json(400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors})
        return _json(202, {"status": "success", "message": "Event processed", "dedup_key": doc["dedup_key"]})

    return contract


# --- Opsgenie Alert API (create, acknowledge, close, add note): 202; 401 bad key; 422 invalid --------------

def opsgenie_contract(api_key: str) -> Callable[[Req], Reply]:
    def contract(req: Req) -> Reply:
        took = {"took": 0.01, "requestId": str(uuid.uuid4())}
        if req.headers.get("authorization") != f"GenieKey {api_key}":
            return _json(401, {"message": "Could not authenticate", **took})
        doc = req.json()
        parts = req.path.strip("/").split("/")
        if parts == ["v2", "alerts"]:
            ok = (0 < len(doc.get("message", "")) <= 130 and len(doc.get("alias", "")) <= 512
                  and doc.get("priority") in ("P1", "P2", "P3", "P4", "P5")
                  and len(doc.get("description", "")) <= 15000 and len(doc.get("tags", [])) <= 20)
        elif len(parts) == 4 and parts[:2] == ["v2", "alerts"] and parts[3] in ("acknowledge", "close"):
            ok = req.query.get("identifierType") == ["alias"]
        elif len(parts) == 4 and parts[:2] == ["v2", "alerts"] and parts[3] == "notes":  # Add Note to Alert
            ok = req.query.get("identifierType") == ["alias"] and 0 < len(doc.get("note", "")) <= 25000
        else:
            return _json(404, {"message": "not found", **took})
        if not ok:
            return _json(422, {"message": "Request body is not processable", **took})
        return _json(202, {"result": "Request will be processed", **took})

    return contract


# --- Teams workflow webhook: 202 Accepted; 400 bad card; 413 over ~28 KB ------------------------------------------

def teams_contract(req: Req) -> Reply:
    if len(req.body) > 28 * 1024:
        return 413, {}, b""
    doc = req.json()
    try:
        attachment = doc["attachments"][0]
        ok = (doc["type"] == "message" and attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
              and attachment["content"]["type"] == "AdaptiveCard" and isinstance(attachment["content"]["body"], list))
    except (KeyError, IndexError, TypeError):
        ok = False
    return (202, {}, b"") if ok else _json(400, {"error": {"code": "InvalidRequestContent"}})


# --- Standard Webhooks receiver: verifies id, timestamp (5 min tolerance) and the v1 signature --------------------

def webhook_contract(secret: str | None) -> Callable[[Req], Reply]:
    def contract(req: Req) -> Reply:
        msg_id, ts = req.headers.get("webhook-id"), req.headers.get("webhook-timestamp")
        if not msg_id or not ts or abs(time.time() - int(ts)) > 300:
            return 400, {}, b"missing or stale webhook headers"
        if secret:
            key = base64.b64decode(secret.removeprefix("whsec_"))
            expected = base64.b64encode(
                hmac.new(key, f"{msg_id}.{ts}.".encode() + req.body, hashlib.sha256).digest()).decode()
            offered = [s.split(",", 1)[1] for s in req.headers.get("webhook-signature", "").split() if "," in s]
            if not any(hmac.compare_digest(expected, o) for o in offered):
                return 401, {}, b"bad signature"
        return 204, {}, b""

    return contract
