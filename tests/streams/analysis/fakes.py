"""A local HTTP server that speaks the three model wire protocols.

It answers by path, in each vendor's documented response shape:
  POST …/chat/completions            OpenAI Chat Completions (also Ollama, vLLM, Mistral, …)
  POST …/v1/messages                 Anthropic Messages
  POST …/models/<model>:generateContent   Gemini
Each request takes the next scripted Answer (the last one repeats) and is recorded,
so tests check the request shape and script slow, failing or malformed replies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from alertstream.embedded import free_port

GOOD = {
    "category": "disk",
    "summary": "The /var filesystem on web-1 is almost full.",
    "probable_cause": "Application logs under /var/log/app are not rotated.",
    "confidence": 0.83,
    "recommendations": [
        {"type": "mitigate", "priority": 1, "title": "Free space", "description": "Compress old logs.",
         "actions": ["journalctl --vacuum-size=500M"]},
        {"type": "fix", "priority": 2, "title": "Rotate app logs", "description": "Add a logrotate rule.",
         "actions": ["cp app.logrotate /etc/logrotate.d/app"]},
    ],
}


@dataclass
class Answer:
    text: str | None = None  # what the model says; None: GOOD as JSON
    status: int = 200
    delay_s: float = 0.0
    raw: bytes | None = None  # a whole body instead of the protocol's shape
    body: dict[str, Any] | None = None  # a whole JSON body instead of the protocol's shape
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    json: Any


@dataclass
class FakeModel:
    port: int
    answers: list[Answer] = field(default_factory=lambda: [Answer()])
    requests: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *answers: Answer) -> None:
        with self.lock:
            self.answers = list(answers)
            self.requests.clear()

    def next_answer(self) -> Answer:
        with self.lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def shaped(path: str, text: str, tokens: tuple[int, int] = (120, 45)) -> dict[str, Any]:
    """The documented success body of the protocol behind `path`, carrying `text`."""
    if path.endswith("/chat/completions") or "/chat/completions?" in path:
        return {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1764410400, "model": "gpt-test",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1],
                      "total_tokens": tokens[0] + tokens[1]},
        }
    if path.endswith("/v1/messages"):
        return {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
        }
    if path.endswith(":generateContent"):
        return {
            "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP",
                            "index": 0}],
            "usageMetadata": {"promptTokenCount": tokens[0], "candidatesTokenCount": tokens[1],
                              "totalTokenCount": tokens[0] + tokens[1]},
            "modelVersion": "gemini-test",
        }
    raise AssertionError(f"no protocol at {path}")


@contextmanager
def fake_model() -> Iterator[FakeModel]:
    state = FakeModel(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("content-length", 0)))
            with state.lock:
                state.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()},
                                           orjson.loads(raw) if raw else None))
            answer = state.next_answer()
            if answer.delay_s:
                time.sleep(answer.delay_s)
            if answer.raw is not None:
                body = answer.raw
            elif answer.body is not None:
                body = orjson.dumps(answer.body)
            elif answer.status >= 400:
                body = orjson.dumps({"error": {"message": "scripted failure", "type": "server_error"}})
            else:
                body = orjson.dumps(shaped(self.path, answer.text if answer.text is not None else
                                           orjson.dumps(GOOD).decode()))
            try:
                self.send_response(answer.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

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
