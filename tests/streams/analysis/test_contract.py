"""The output contract, the budgets' pure parts and the wire modules' parsing edge cases."""

from __future__ import annotations

import copy

import orjson
import pytest

from alertstream.errors import Permanent
from alertstream.streams.analysis import anthropic, gemini, openai
from alertstream.streams.analysis.budget import CircuitBreaker, TTLCache, signature
from alertstream.streams.analysis.contract import ContractError, parse_output
from alertstream.streams.analysis.prompt import build_prompt

from .fakes import GOOD
from .incidents import alert, incident


def answer(**changes: object) -> str:
    data = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return orjson.dumps(data).decode()


def test_valid_answer_parses_and_sorts_by_priority() -> None:
    recs = [dict(GOOD["recommendations"][1], priority=3), GOOD["recommendations"][0]]
    out = parse_output(answer(recommendations=recs))
    assert [r.priority for r in out.recommendations] == [1, 3]
    assert out.category == "disk" and out.confidence == 0.83


def test_code_fence_is_tolerated() -> None:
    assert parse_output("```json\n" + answer() + "\n```").summary.startswith("The /var")


@pytest.mark.parametrize("text, where", [
    ("", "empty"),
    ("The disk is full.", "not JSON"),
    ("[1, 2]", "JSON object"),
    (answer(summary=None), "summary"),
    (answer(summary="  "), "summary"),
    (answer(confidence=None), "confidence"),
    (answer(confidence="high"), "confidence"),
    (answer(confidence=83), "from 0 to 1"),
    (answer(confidence=True), "confidence"),
    (answer(recommendations=[]), "recommendations"),
    (answer(recommendations=[{"type": "pray", "priority": 1, "title": "t"}]), "type"),
    (answer(recommendations=[{"type": "fix", "priority": 0, "title": "t"}]), "priority"),
    (answer(recommendations=[{"type": "fix", "priority": 1, "title": "t", "actions": "rm -rf /"}]), "actions"),
    (answer(recommendations=["fix it"]), "object"),
])
def test_contract_violations_say_where(text: str, where: str) -> None:
    with pytest.raises(ContractError, match=where):
        parse_output(text)


def test_unknown_category_takes_the_rules_category_and_text_is_bounded_and_redacted() -> None:
    out = parse_output(answer(category="storage-ish", summary="x" * 5000,
                              probable_cause="rotate with token=abcdef0123456789 then retry"), "disk")
    assert out.category == "disk"
    assert len(out.summary) <= 600
    assert "abcdef0123456789" not in out.probable_cause and "[REDACTED:token]" in out.probable_cause


def test_circuit_breaker_with_an_injected_clock() -> None:
    breaker = CircuitBreaker(failures_to_open=2, cooldown_s=10)
    assert breaker.allow(0)
    breaker.record_failure(1)
    assert breaker.state(1) == "closed"
    breaker.record_failure(2)
    assert breaker.state(2) == "open" and not breaker.allow(5)
    assert breaker.state(12) == "half-open" and breaker.allow(12)  # one trial
    assert not breaker.allow(12.1)  # and only one
    breaker.record_failure(13)
    assert breaker.state(14) == "open"
    assert breaker.allow(23.5)
    breaker.record_success()
    assert breaker.state(24) == "closed" and breaker.allow(24)


def test_ttl_cache_expires_and_bounds() -> None:
    cache: TTLCache[int] = TTLCache(ttl_s=10, max_entries=2)
    cache.put("a", 1, now=0)
    assert cache.get("a", now=9.9) == 1 and cache.get("a", now=10) is None
    cache.put("a", 1, 0), cache.put("b", 2, 0), cache.put("c", 3, 0)
    assert cache.get("a", 1) is None and cache.get("c", 1) == 3
    off: TTLCache[int] = TTLCache(ttl_s=0)
    off.put("a", 1, 0)
    assert off.get("a", 0) is None


def test_signature_ignores_order_values_and_ids_but_not_labels_or_severity() -> None:
    a = alert("disk", labels={"hostname": "h1"}, annotations={"metric.used_pct": "91"})
    b = alert("cpu", labels={"hostname": "h1"})
    base = signature(incident(a, b))
    assert signature(incident(b, a, incident_id="other")) == base
    refreshed = alert("disk", labels={"hostname": "h1"}, annotations={"metric.used_pct": "97"})
    assert signature(incident(refreshed, b)) == base
    assert signature(incident(alert("disk", labels={"hostname": "h2"}), b)) != base
    assert signature(incident(a, b, severity="warning")) != base


def test_prompt_is_bounded() -> None:
    many = [alert(f"A{i}", labels={f"k{j}": "v" * 1000 for j in range(40)}) for i in range(30)]
    prompt = build_prompt(incident(*many))
    text = prompt.messages[0].text
    assert '"alerts_omitted": 10' in text and "v" * 301 not in text
    assert len(prompt.encode()) < 200_000


def test_openai_refusal_and_missing_choices_are_bad_responses() -> None:
    with pytest.raises(Permanent, match="refused"):
        openai.parse_response({"choices": [{"message": {"role": "assistant", "content": None, "refusal": "no"}}]})
    with pytest.raises(Permanent, match="bad_response"):
        openai.parse_response({"choices": []})


def test_anthropic_joins_text_blocks_and_skips_others() -> None:
    body = {"content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": '{"a":'},
                        {"type": "text", "text": "1}"}], "usage": {"input_tokens": 3, "output_tokens": 4}}
    completion = anthropic.parse_response(body)
    assert completion.text == '{"a":1}' and (completion.tokens_in, completion.tokens_out) == (3, 4)


def test_gemini_blocked_prompt_is_permanent() -> None:
    with pytest.raises(Permanent, match="blocked"):
        gemini.parse_response({"promptFeedback": {"blockReason": "SAFETY"}})
    with pytest.raises(Permanent, match="blocked"):
        gemini.parse_response({"candidates": [{"finishReason": "SAFETY", "content": {"parts": []}}]})


def test_openai_options_for_azure_style_gateways() -> None:
    from alertstream.secrets import Secret
    from alertstream.streams.analysis.base import ProviderConfig

    cfg = ProviderConfig("azure", "openai", "https://res.openai.azure.com/openai/deployments/gpt4o", "gpt-4o",
                         Secret("azure-key-XYZ"),
                         options={"auth": "api-key", "api_version": "2024-10-21", "json_mode": False,
                                  "max_tokens_field": "max_completion_tokens"})
    request = openai.build_request(cfg, build_prompt(incident(alert("disk"))))
    assert request.url.endswith("/deployments/gpt4o/chat/completions?api-version=2024-10-21")
    assert request.headers["api-key"] == "azure-key-XYZ" and "authorization" not in request.headers
    assert "response_format" not in request.body and request.body["max_completion_tokens"] == 1024
    assert "azure-key-XYZ" not in repr(request) and "azure-key-XYZ" not in repr(cfg)  # keys stay out of repr
