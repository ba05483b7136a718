"""Jinja2 templates for channel messages, always sandboxed: a channel's template is
operator input, so it gets no attribute access to Python internals and no I/O.

Each driver ships DEFAULT_TEMPLATES (name -> source); a channel may override any
of them with `settings["templates"]`. Rendering errors are Permanent: the same
template fails the same way on every retry.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from alertstream.errors import Permanent

MAX_TEMPLATE_CHARS = 20_000
MAX_OUTPUT_CHARS = 200_000


def _env(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=autoescape, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["upper_first"] = lambda s: str(s)[:1].upper() + str(s)[1:]
    return env


_TEXT = _env(autoescape=False)
_HTML = _env(autoescape=True)


@lru_cache(maxsize=512)
def _compile(source: str, html: bool) -> Any:
    return (_HTML if html else _TEXT).from_string(source)


def compile_template(name: str, source: object, html: bool = False) -> None:
    """Validation on save: the template parses in the sandbox."""
    if not isinstance(source, str) or len(source) > MAX_TEMPLATE_CHARS:
        raise Permanent("invalid_config", f"template {name!r} must be a string of at most {MAX_TEMPLATE_CHARS} chars")
    try:
        _compile(source, html)
    except TemplateError as exc:
        raise Permanent("invalid_config", f"template {name!r}: {exc}") from None


def validate_overrides(raw: object, defaults: Mapping[str, str], html: frozenset[str] = frozenset()) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise Permanent("invalid_config", "templates must be an object of name -> template")
    unknown = sorted(set(raw) - set(defaults))
    if unknown:
        raise Permanent("invalid_config", f"unknown template names {unknown}; this driver has {sorted(defaults)}")
    for name, source in raw.items():
        compile_template(name, source, html=name in html)
    return {str(k): str(v) for k, v in raw.items()}


def render(
    name: str, defaults: Mapping[str, str], settings: Mapping[str, Any], context: Mapping[str, Any], html: bool = False
) -> str:
    """The channel's override of template `name`, else the driver's default, rendered in the sandbox."""
    source = (settings.get("templates") or {}).get(name) or defaults[name]
    try:
        out: str = _compile(source, html).render(**context)
    except TemplateError as exc:  # includes SecurityError and UndefinedError
        raise Permanent("template_error", f"{name}: {type(exc).__name__}: {exc}"[:300]) from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise Permanent("template_error", f"{name}: {type(exc).__name__}") from None
    return out[:MAX_OUTPUT_CHARS]


# Shared defaults (trim_blocks eats a newline right after a tag: `+%}` keeps the ones meant).
# A resolution or acknowledgement leads with what it is, never with the severity;
# a follow-up leads with "Update: analysis for"; a missing or fallback analysis is said under the summary.
UPDATE_TITLE = "{% if update %}Update: analysis for {% endif %}"
TITLE = (
    UPDATE_TITLE + "{% if state == 'firing' %}[{{ severity_label }}] {{ incident.title }}"
    "{% else %}[{{ state_label }}] {{ incident.title }} (was {{ incident.severity }}){% endif %}"
)
UPDATE_LINE = (
    "{% if update %}Update: analysis for incident {{ incident.id }} (version {{ incident.version }}),"
    " notified earlier with its analysis pending.\n{% endif %}"
)
SUMMARY = (
    UPDATE_LINE + "{% if state == 'resolved' %}Resolved. {% elif state == 'acknowledged' %}Acknowledged. {% endif %}"
    "{{ summary }}"
    "{% if probable_cause +%}\nProbable cause: {{ probable_cause }}{% endif %}"
    "{% if analysis_note +%}\n{{ analysis_note }}{% endif +%}"
)
ALERT_LINE = (
    "{{ alert.name }} ({{ alert.severity }}, {{ alert.status }}){% if alert.summary %}: {{ alert.summary }}{% endif +%}"
)
