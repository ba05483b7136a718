"""What every console page shares: the Console context, the Jinja2 environment (autoescaped),
time filters, fixed flash messages, and HTML error pages. Pages never take text for a
message from the URL: a redirect carries a flash *code*, looked up here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ..api import ApiContext

TEMPLATES = Path(__file__).parent / "templates"

FLASH = {
    "acknowledge": "Acknowledgement sent. The check stage applies it in order with the incident's alerts, "
                   "and every channel of its lane is told.",
    "resolve": "Resolution sent. The check stage applies it and every channel is told.",
    "close": "Close sent. The incident stops absorbing alerts once the check stage applies it.",
    "note": "Note sent. It joins the timeline and goes to every channel.",
    "silence-created": "Silence created. Workers follow the silences topic within a second or two.",
    "silence-expired": "Silence expired. Matching alerts notify again.",
    "retried": "Delivery handed back to the retry path: it is sent once more, still at most once.",
    "logged-out": "You are logged out.",
}


@dataclass
class Console:
    """What the console's handlers share."""

    api: ApiContext
    env: jinja2.Environment
    idle_s: float
    max_s: float
    clock: Callable[[], datetime]

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        page = self.env.get_template(template)
        flash = FLASH.get(request.query_params.get("flash", ""), "")
        html = page.render(
            user=getattr(request.state, "console_user", None), csrf=getattr(request.state, "csrf", ""),
            flash=flash, path=request.url.path, now=self.clock(), **context,
        )
        return HTMLResponse(html, status_code=status)

    def error(self, request: Request, status: int, message: str) -> HTMLResponse:
        return self.render(request, "error.html", status=status, status_code=status, message=message)


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def when(value: Any) -> str:
    """An absolute UTC time, to the second."""
    moment = _as_datetime(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "–"


def ago(value: Any, now: datetime) -> str:
    """How long ago, coarsely ('just now', '12 s ago', '5 min ago', '3 h ago', '2 d ago'); future: 'in …'."""
    moment = _as_datetime(value)
    if moment is None:
        return "–"
    seconds = int((now - moment).total_seconds())
    span = abs(seconds)
    if span < 5:
        return "just now"
    text = (f"{span} s" if span < 90 else f"{span // 60} min" if span < 5400
            else f"{span // 3600} h" if span < 172800 else f"{span // 86400} d")
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def seg(value: Any) -> str:
    """A value as one URL path segment."""
    return quote(str(value), safe="")


def http_url(value: Any) -> bool:
    """Only http(s) links from alerts become links: never javascript: or data: URLs."""
    try:
        return isinstance(value, str) and urlsplit(value).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["ago"] = ago
    env.filters["seg"] = seg
    env.tests["http_url"] = http_url
    env.filters["http_url"] = http_url
    return env
