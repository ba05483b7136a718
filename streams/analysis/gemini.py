"""The `gemini` provider: generateContent, POST {base_url}/models/{model}:generateContent.

The key goes in the x-goog-api-key header (never in the URL, which ends up in
logs). The system prompt is systemInstruction; turns are user/model with text
parts; generationConfig asks for application/json. The answer is the text parts
of candidates[0]; usage is usageMetadata.promptTokenCount/candidatesTokenCount.
A prompt blocked by safety filters has no candidates, only promptFeedback.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from alertstream.errors import Permanent

from .base import Completion, ProviderConfig, WireRequest, bad_response, base_url, count, dig
from .prompt import Prompt

KIND = "gemini"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
_ROLES = {"user": "user", "assistant": "model"}


def build_request(config: ProviderConfig, prompt: Prompt) -> WireRequest:
    model = quote(config.model.removeprefix("models/"), safe="-._")
    headers = {"content-type": "application/json", "accept": "application/json"}
    key = config.api_key.reveal()
    if key:
        headers["x-goog-api-key"] = key
    generation: dict[str, Any] = {"temperature": 0, "maxOutputTokens": config.max_tokens}
    if config.option("json_mode", True):
        generation["responseMimeType"] = "application/json"
    body = {
        "systemInstruction": {"parts": [{"text": prompt.system}]},
        "contents": [{"role": _ROLES[m.role], "parts": [{"text": m.text}]} for m in prompt.messages],
        "generationConfig": generation,
    }
    return WireRequest(f"{base_url(config, DEFAULT_BASE_URL)}/models/{model}:generateContent", body, headers)


def parse_response(body: Any) -> Completion:
    candidate = dig(body, "candidates", 0)
    if not isinstance(candidate, dict):
        reason = dig(body, "promptFeedback", "blockReason")
        if reason:
            raise Permanent("blocked", f"prompt blocked: {str(reason)[:40]}")
        raise bad_response("no candidates")
    parts = dig(candidate, "content", "parts")
    texts = [p["text"] for p in parts or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]
    finish = str(candidate.get("finishReason") or "")
    if not texts:
        if finish in ("SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "RECITATION"):
            raise Permanent("blocked", f"answer blocked: {finish}")
        raise bad_response("no text parts in candidates[0]")
    return Completion(
        text="".join(texts),
        tokens_in=count(dig(body, "usageMetadata", "promptTokenCount")),
        tokens_out=count(dig(body, "usageMetadata", "candidatesTokenCount")),
        model=str(body.get("modelVersion") or ""),
        finish=finish,
    )
