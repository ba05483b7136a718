"""Read-only queries the console needs that storage/ does not offer (yet): the live counts.
Everything else the console shows comes from storage/'s public functions."""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg_pool import AsyncConnectionPool

from alertstream.schemas.records import SEVERITIES
from alertstream.storage.incidents import STATUSES


@dataclass(frozen=True)
class Counts:
    by_status: dict[str, int] = field(default_factory=dict)  # every status, 0 included
    active_by_severity: dict[str, int] = field(default_factory=dict)  # open + acknowledged, every severity

    @property
    def active(self) -> int:
        return self.by_status.get("open", 0) + self.by_status.get("acknowledged", 0)


def tally(rows: list[tuple[str, str, int]]) -> Counts:
    """Pure: (status, severity, count) rows into Counts."""
    by_status = dict.fromkeys(STATUSES, 0)
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for status, severity, count in rows:
        by_status[status] = by_status.get(status, 0) + count
        if status in ("open", "acknowledged"):
            by_severity[severity] = by_severity.get(severity, 0) + count
    return Counts(by_status, by_severity)


async def incident_counts(pool: AsyncConnectionPool) -> Counts:
    async with pool.connection() as conn:
        rows = await (await conn.execute(
            "SELECT status, severity, count(*) FROM incidents GROUP BY status, severity"
        )).fetchall()
    return tally([(r[0], r[1], int(r[2])) for r in rows])
