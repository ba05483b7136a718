"""The one output contract every analysis provider answers with, and its validator.

A model's answer is untrusted text: it is parsed as JSON, checked field by field,
bounded in size and redacted before it can reach a record, a table or a page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from alertstream.redaction import redact_text
from alertstream.schemas.records import Recommendation

CATEGORIES = (
    "memory", "disk", "cpu", "network", "process", "availability", "latency", "error-rate", "certificate", "general",
)
RECOMMENDATION_TYPES = ("investigate", "mitigate", "fix", "prevent")
MAX_RECOMMENDATIONS = 8
MAX_ACTIONS = 10
_LIMITS = {"summary": 600, "probable_cause": 1200, "title": 160, "description": 800, "action": 400}

# What the prompt asks for; `validate` is what holds the model to it.
_QUOTED_CATEGORIES = ", ".join(f'"{c}"' for c in CATEGORIES)
_QUOTED_TYPES = ", ".join(f'"{t}"' for t in RECOMMENDATION_TYPES)
SCHEMA_TEXT = f"""\
Answer with ONE JSON object and nothing else, shaped exactly like this:
{{
  "category": one of {_QUOTED_CATEGORIES},
  "summary": string, one or two sentences on what is happening,
  "probable_cause": string, the most likely cause given the evidence,
  "confidence": number from 0 to 1, how sure you are of the probable cause,
  "recommendations": [
    {{"type": one of {_QUOTED_TYPES}, "priority": integer from 1 (most urgent) to 5,
     "title": short string, "description": string,
     "actions": [strings: concrete commands or steps an on-call engineer can run now]}}
  ]  (1 to {MAX_RECOMMENDATIONS} items, most urgent first)
}}"""


class ContractError(ValueError):
    """The answer is not valid JSON or does not match the contract; the message says where."""


@dataclass(frozen=True)
class AnalysisOutput:
    category: str
    summary: str
    probable_cause: str
    confidence: float
    recommendations: list[Recommendation]


def parse_output(text: str, default_category: str = "general") -> AnalysisOutput:
    """Model text -> AnalysisOutput, or ContractError. A ```json fence around the object is tolerated."""
    return validate(_load_json(text), default_category)


def _load_json(text: str) -> Any:
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rsplit("```", 1)[0].strip()
    if not body:
        raise ContractError("the answer is empty")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ContractError(f"the answer is not JSON ({exc})") from None


def validate(data: Any, default_category: str = "general") -> AnalysisOutput:
    if not isinstance(data, dict):
        raise ContractError("the answer must be a JSON object")
    category = data.get("category")
    if not isinstance(category, str) or category.strip().lower() not in CATEGORIES:
        category = default_category  # a missing or unknown category is not worth a repair round-trip
    recs = data.get("recommendations")
    if not isinstance(recs, list) or not recs:
        raise ContractError("recommendations must be a non-empty list")
    recommendations = [_recommendation(item, i) for i, item in enumerate(recs[:MAX_RECOMMENDATIONS])]
    recommendations.sort(key=lambda r: r.priority)  # stable: the model's order breaks ties
    return AnalysisOutput(
        category=category.strip().lower(),
        summary=_text(data, "summary", "summary"),
        probable_cause=_text(data, "probable_cause", "probable_cause"),
        confidence=_confidence(data.get("confidence")),
        recommendations=recommendations,
    )


def _confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ContractError("confidence must be a number from 0 to 1")
    if not 0 <= value <= 1:
        raise ContractError(f"confidence must be from 0 to 1, got {value}")
    return round(float(value), 3)


def _recommendation(item: Any, index: int) -> Recommendation:
    where = f"recommendations[{index}]"
    if not isinstance(item, dict):
        raise ContractError(f"{where} must be an object")
    kind = item.get("type")
    if not isinstance(kind, str) or kind.strip().lower() not in RECOMMENDATION_TYPES:
        raise ContractError(f"{where}.type must be one of {', '.join(RECOMMENDATION_TYPES)}")
    priority = item.get("priority")
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 5:
        raise ContractError(f"{where}.priority must be an integer from 1 to 5")
    actions = item.get("actions", [])
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        raise ContractError(f"{where}.actions must be a list of strings")
    return Recommendation(
        type=kind.strip().lower(),
        priority=priority,
        title=_text(item, "title", f"{where}.title"),
        description=_text(item, "description", f"{where}.description", required=False),
        actions=[_clip(redact_text(a.strip()), _LIMITS["action"]) for a in actions[:MAX_ACTIONS] if a.strip()],
    )


def _text(data: dict[str, Any], key: str, where: str, required: bool = True) -> str:
    value = data.get(key, "" if not required else None)
    if not isinstance(value, str) or (required and not value.strip()):
        raise ContractError(f"{where} must be a non-empty string" if required else f"{where} must be a string")
    limit = _LIMITS.get(key, _LIMITS["description"])
    return _clip(redact_text(value.strip()), limit)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def to_json(output: AnalysisOutput) -> dict[str, Any]:
    """The contract's JSON shape (what a model is asked to produce), e.g. for the API."""
    return {
        "category": output.category,
        "summary": output.summary,
        "probable_cause": output.probable_cause,
        "confidence": output.confidence,
        "recommendations": [recommendation_json(r) for r in output.recommendations],
    }


def recommendation_json(r: Recommendation) -> dict[str, Any]:
    return {"type": r.type, "priority": r.priority, "title": r.title, "description": r.description,
            "actions": list(r.actions)}
