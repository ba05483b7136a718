"""A small HTTP/1.1 load generator on asyncio streams, used when wrk is absent and for
fixed-rate (open-loop) runs, which wrk cannot do. Keep-alive connections, bodies
made per request (so every request carries unique alerts), latency per request."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

BodyFactory = Callable[[int], bytes]


@dataclass
class LoadResult:
    generator: str
    duration_s: float = 0.0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    latencies_s: list[float] = field(default_factory=list)
    alerts_per_request: int = 1

    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    def percentile(self, p: float) -> float:
        override = getattr(self, f"p{int(p)}_override", None)  # wrk reports only its own percentiles
        if override is not None:
            return float(override)
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    def summary(self) -> dict[str, float | int | str | dict[str, int]]:
        rps = self.ok() / self.duration_s if self.duration_s else 0.0
        return {
            "generator": self.generator,
            "duration_s": round(self.duration_s, 2),
            "requests": self.requests,
            "ok": self.ok(),
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "requests_per_s": round(rps, 1),
            "alerts_per_s": round(rps * self.alerts_per_request, 1),
            "latency_p50_ms": round(self.percentile(50) * 1000, 2),
            "latency_p99_ms": round(self.percentile(99) * 1000, 2),
        }


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.reused = False

    async def request(self, head: bytes, body: bytes) -> int:
        status_line = await self._send(head, body)
        if not status_line and self.reused:
            # The server closed this kept-alive connection while it sat idle (uvicorn does after
            # 5 s): nothing was read, so send again on a new one, as HTTP clients do.
            self.close()
            status_line = await self._send(head, body)
        if not status_line:
            raise ConnectionError("server closed the connection")
        assert self.reader is not None
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        close = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                length = int(value.strip())
            elif lname == b"connection" and value.strip().lower() == b"close":
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    async def _send(self, head: bytes, body: bytes) -> bytes:
        """The status line of the answer, or b"" when the server had closed the connection."""
        self.reused = self.writer is not None
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
            return await self.reader.readline()
        except ConnectionResetError:
            return b""

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _head(host: str, port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\nContent-Length: ").encode()


async def closed_loop(
    host: str, port: int, path: str, headers: dict[str, str], make_body: BodyFactory,
    *, concurrency: int, duration_s: float, alerts_per_request: int = 1,
) -> LoadResult:
    """As fast as the server answers, `concurrency` requests in flight."""
    result = LoadResult("asyncio", alerts_per_request=alerts_per_request)
    head = _head(host, port, path, headers)
    counter = iter(range(10**12))
    deadline = time.perf_counter() + duration_s

    async def worker() -> None:
        conn = Connection(host, port)
        while time.perf_counter() < deadline:
            body = make_body(next(counter))
            started = time.perf_counter()
            try:
                status = await conn.request(head, body)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
                result.errors += 1
                conn.close()
                continue
            result.latencies_s.append(time.perf_counter() - started)
            result.statuses[status] += 1
            result.requests += 1
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.duration_s = time.perf_counter() - t0
    return result


async def open_loop(
    host: str, port: int, path: str, headers: dict[str, str], make_body: BodyFactory,
    *, rate: float, duration_s: float, connections: int = 64, alerts_per_request: int = 1,
    on_sent: Callable[[int, float], None] | None = None,
) -> LoadResult:
    """A fixed offered load: request i is due at t0 + i/rate; latency counts from when it was
    due, so a slow server cannot hide its queueing (no coordinated omission)."""
    result = LoadResult("asyncio-open-loop", alerts_per_request=alerts_per_request)
    head = _head(host, port, path, headers)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(host, port))
    total = int(rate * duration_s)
    t0 = time.perf_counter()
    tasks = []

    async def one(i: int, due: float) -> None:
        conn = await pool.get()
        try:
            if on_sent is not None:
                on_sent(i, time.time())
            status = await conn.request(head, make_body(i))
            result.latencies_s.append(time.perf_counter() - due)
            result.statuses[status] += 1
            result.requests += 1
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
            conn.close()
        finally:
            pool.put_nowait(conn)

    for i in range(total):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    result.duration_s = time.perf_counter() - t0
    while not pool.empty():
        pool.get_nowait().close()
    return result
