"""The shadow app of `alertstream replay --reprocess`: check -> analyze again over replayed
alerts, without touching anything production reads or writes.

- Its own faust app id (`<app id>-shadow-<run>`), so its consumer group and table
  changelogs are its own, and fresh.
- Every topic it writes or consumes is `shadow.<name>`: `shadow.alerts.normalized` (filled
  by the replay command) -> `shadow.alerts.changes` (also the timer's ticks) -> `shadow.incidents.events` ->
  `shadow.incidents.analyses`, with its refs on `shadow.audit.refs` (never mixed into the
  production chains) and its dead letters on `shadow.pipeline.dlq`. It reads one production
  topic, `silences`, read-only: replay asks what the pipeline would do now.
- No notify agents, no storage agents, no PostgreSQL at all (ShadowContext.pool refuses),
  and analysis by the local rules only: never a paid model provider, never a channel.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import NoReturn

from alertstream.errors import Permanent
from alertstream.schemas.records import Analysis
from alertstream.schemas.topics import TOPICS, TopicSpec

from .analysis.engine import Outcome
from .analysis.service import AnalysisService
from .context import StageContext

log = logging.getLogger(__name__)

PREFIX = "shadow."
# The production topics whose shadow copies the shadow app uses (the check and analyze stages).
TOPIC_NAMES = (
    "alerts.normalized", "alerts.changes", "incidents.events", "incidents.analyses", "audit.refs", "pipeline.dlq",
)
# What the shadow app consumes: it is idle when these are all consumed and nothing new arrives.
INPUT_NAMES = ("alerts.normalized", "alerts.changes", "incidents.events")
RETENTION_MS = 7 * 24 * 3600 * 1000  # a replay's outputs are for looking at, not for keeping


def shadow_name(topic: str) -> str:
    return PREFIX + topic


def shadow_app_id(app_id: str, run: str) -> str:
    return f"{app_id}-shadow-{run}"


def shadow_specs(specs: tuple[TopicSpec, ...] = TOPICS) -> tuple[TopicSpec, ...]:
    """The shadow topics, as the contract of what each is (created by the replay command)."""
    return tuple(
        dataclasses.replace(spec, name=shadow_name(spec.name), writer=f"replay --reprocess ({spec.writer})",
                            retention_ms=RETENTION_MS, compacted=False, internal=True)
        for spec in specs if spec.name in TOPIC_NAMES
    )


class ShadowContext(StageContext):
    """A stage context without a database: whatever would reach PostgreSQL is a bug, and loud."""

    async def pool(self) -> NoReturn:  # type: ignore[override]
        raise Permanent("the shadow app never touches PostgreSQL")


class LocalAnalysisService(AnalysisService):
    """The local rules only (no provider is ever loaded, so no model is ever called), nothing stored."""

    def start(self) -> None:
        pass

    async def refresh(self) -> None:
        pass

    async def save(self, analysis: Analysis, outcome: Outcome | None) -> None:
        pass
