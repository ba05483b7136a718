"""What the analyze agent and `alertstream analyze` share: the analyzer with the active
provider (reloaded in the background), background tasks, Analysis records and their
references, and the encrypted record of every analysis.

The references name the analysis by id and carry, URL-encoded in `output_ref`, the
provider, model, tokens, latency and the SHA-256 of the prompt and the response:
AuditRef has no fields for them, and `output_ref` keeps every existing reader and
the hash chain working. `parse_output_ref` reads them back.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from psycopg_pool import AsyncConnectionPool

from alertstream.config import Settings
from alertstream.ids import name_id
from alertstream.schemas.records import Analysis, IncidentEvent
from alertstream.secrets import Keyring
from alertstream.ssrf import guarded_client
from alertstream.storage import analyses as store

from .engine import Analyzer, Outcome
from .registry import load_active

log = logging.getLogger(__name__)

# A lane whose stages include this asks for an update when the analysis misses the deadline.
FOLLOW_UP_STAGE = "analyze-follow-up"
MAX_BACKGROUND = 1000  # pending writes and late analyses; beyond it, records are dropped with a warning
SAVE_BATCH = 500  # stored copies per transaction


def analysis_id(event: IncidentEvent, update: bool = False) -> str:
    """Derived, so a redelivered event rebuilds the same ids."""
    return name_id(uuid.NAMESPACE_URL, f"analysis:{event.event_id}{':update' if update else ''}")


def to_record(event: IncidentEvent, outcome: Outcome, started: datetime, finished: datetime,
              *, update: bool = False, follow_up: bool = False, record_id: str = "") -> Analysis:
    out = outcome.output
    return Analysis(
        analysis_id=record_id or analysis_id(event, update), incident=event, status=outcome.status,
        provider=outcome.provider, model=outcome.model, started_at=started, finished_at=finished,
        category=out.category, summary=out.summary, probable_cause=out.probable_cause, confidence=out.confidence,
        recommendations=list(out.recommendations),
        fallback_used=outcome.fallback_used, tokens_in=outcome.tokens_in, tokens_out=outcome.tokens_out,
        reason=outcome.reason, latency_ms=outcome.latency_ms, cache_hit=outcome.cache_hit, follow_up=follow_up,
        prompt_sha256=outcome.prompt_sha256, response_sha256=outcome.response_sha256,
    )


def missing_record(event: IncidentEvent, status: str, provider: str, reason: str, started: datetime,
                   finished: datetime) -> Analysis:
    """`unavailable` / `pending` (past the deadline) or `skipped` (the lane has no analyze stage)."""
    return Analysis(analysis_id=analysis_id(event), incident=event, status=status, provider=provider,
                    started_at=started, finished_at=finished, reason=reason)


def output_ref(analysis: Analysis) -> str:
    facts = {
        "status": analysis.status, "provider": analysis.provider, "model": analysis.model,
        "tokens_in": analysis.tokens_in, "tokens_out": analysis.tokens_out, "latency_ms": analysis.latency_ms,
        "prompt_sha256": analysis.prompt_sha256, "response_sha256": analysis.response_sha256,
        "reason": analysis.reason, "cache": "hit" if analysis.cache_hit else "",
        "follow_up": "1" if analysis.follow_up else "",
    }
    return f"analysis:{analysis.analysis_id}?" + urlencode([(k, v) for k, v in facts.items() if v not in ("", 0)])


def parse_output_ref(ref: str) -> tuple[str, dict[str, str]]:
    """`analysis:<id>?provider=…` -> (id, facts)."""
    head, _, query = ref.partition("?")
    return head.removeprefix("analysis:"), dict(parse_qsl(query))


def ref_status(analysis: Analysis) -> tuple[str, str | None]:
    """(AuditRef status, error): a fallback is a delivered analysis whose error says why the rules answered."""
    if analysis.status in ("ok", "fallback"):
        return "ok", (f"fallback: {analysis.reason}" if analysis.fallback_used else None)
    return "skipped", analysis.reason or None


def _keyring(settings: Settings) -> Keyring | None:
    """The keyring for sealed provider keys and blobs. Without one (or with a broken one, which is
    logged loudly) analysis still runs: providers whose key cannot be opened give way to the rules,
    and prompts are not stored. A page never waits on a key."""
    spec = settings.notify.secret_key.reveal().strip()
    if not spec:
        return None
    try:
        return Keyring.parse(spec)
    except ValueError as exc:  # the message names the entry, never the key
        log.error("ALERTSTREAM_SECRET_KEY is unusable (%s): analysis runs without sealed keys and blobs", exc)
        return None


class AnalysisService:
    def __init__(self, settings: Settings, pool: Callable[[], Awaitable[AsyncConnectionPool]],
                 client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.pool = pool
        self.keyring = _keyring(settings)
        self.allow = settings.analysis.allow
        # follow_redirects off: a provider answering with a redirect is an error, not a new destination.
        self.client = client or guarded_client(self.allow, follow_redirects=False)
        self.analyzer = Analyzer(self.client, cache_ttl_s=settings.analysis.cache_ttl_s)
        self.tasks: set[asyncio.Task[Any]] = set()
        self._refresher: asyncio.Task[None] | None = None
        # Stored copies waiting for the writer: one transaction per batch, not one per analysis.
        self._unsaved: list[tuple[Analysis, Outcome | None]] = []
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Reload the active provider now and every refresh_s, in the background: no event waits for it."""
        if self._refresher is None or self._refresher.done():
            self._refresher = self.spawn(self._refresh_forever(), force=True)

    async def refresh(self) -> None:
        try:
            config = await load_active(await self.pool(), self.keyring, self.allow)
        except Exception as exc:  # the database or a stored row: keep the provider we have
            log.warning("cannot load the active analysis provider (%s: %s); keeping %s",
                        type(exc).__name__, exc, self.analyzer.provider)
            return
        before = self.analyzer.provider
        self.analyzer.configure(config)
        if self.analyzer.provider != before:
            log.info("analysis provider is now %s", self.analyzer.provider)

    async def _refresh_forever(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self.settings.analysis.refresh_s)

    def spawn(self, coro: Coroutine[Any, Any, Any], *, force: bool = False) -> asyncio.Task[Any]:
        """A background task in a fresh context: it is not part of the event being processed (so
        its references go to this process's own chain, never to the partition's)."""
        if len(self.tasks) >= MAX_BACKGROUND and not force:
            coro.close()
            raise OverflowError("too many background analysis tasks")
        task = asyncio.get_running_loop().create_task(coro, context=contextvars.Context())
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background analysis task failed", exc_info=task.exception())

    async def save(self, analysis: Analysis, outcome: Outcome | None) -> None:
        """The analysis row and its sealed prompt/response; a failure is logged, never raised:
        the record on the topic is the source of truth, this is its queryable copy."""
        await self._save([(analysis, outcome)])

    async def _save(self, items: list[tuple[Analysis, Outcome | None]]) -> None:
        rows = []
        for analysis, outcome in items:
            blobs = []
            if outcome is not None and outcome.prompt:
                blobs.append(store.Blob.of("prompt", outcome.prompt))
            if outcome is not None and outcome.response:
                blobs.append(store.Blob.of("response", outcome.response))
            rows.append((analysis, outcome.signature if outcome else "", blobs))
        try:
            await store.save_many(await self.pool(), rows, self.keyring)
        except Exception as exc:
            ids = ", ".join(a.analysis_id for a, _ in items[:3]) + (" …" if len(items) > 3 else "")
            log.warning("storing %d analyses (%s) failed: %s: %s", len(items), ids, type(exc).__name__, exc)

    def record_later(self, analysis: Analysis, outcome: Outcome | None) -> None:
        """Store a copy in the background; copies that arrive together are written together."""
        if len(self._unsaved) >= MAX_BACKGROUND * SAVE_BATCH:
            log.warning("dropping the stored copy of analysis %s: too many pending writes", analysis.analysis_id)
            return
        self._unsaved.append((analysis, outcome))
        if self._writer is None or self._writer.done():
            self._writer = self.spawn(self._write_unsaved(), force=True)

    async def _write_unsaved(self) -> None:
        while self._unsaved:
            batch, self._unsaved = self._unsaved[:SAVE_BATCH], self._unsaved[SAVE_BATCH:]
            await self._save(batch)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await self.client.aclose()
