"""The `anthropic` provider: the Messages API, POST {base_url}/v1/messages.

Headers x-api-key and anthropic-version (option `version`, default 2023-06-01);
the system prompt is a top-level field and max_tokens is required. The answer
is the concatenated text blocks of `content`; usage is input/output_tokens.
"""

from __future__ import annotations

from typing import Any

from .base import Completion, ProviderConfig, WireRequest, bad_response, base_url, count, dig
from .prompt import Prompt

KIND = "anthropic"
DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"


def build_request(config: ProviderConfig, prompt: Prompt) -> WireRequest:
    headers = {
        "content-type": "application/json",
        "accept": "application/json",
        "anthropic-version": str(config.option("version", API_VERSION)),
    }
    key = config.api_key.reveal()
    if key:
        headers["x-api-key"] = key
    body = {
        "model": config.model,
        "max_tokens": config.max_tokens,
        "system": prompt.system,
        "messages": [{"role": m.role, "content": m.text} for m in prompt.messages],
        "temperature": 0,
    }
    return WireRequest(f"{base_url(config, DEFAULT_BASE_URL)}/v1/messages", body, headers)


def parse_response(body: Any) -> Completion:
    blocks = dig(body, "content")
    if not isinstance(blocks, list):
        raise bad_response("no content blocks")
    texts = [b["text"] for b in blocks
             if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)]
    if not texts:
        raise bad_response("no text block in content")
    return Completion(
        text="".join(texts),
        tokens_in=count(dig(body, "usage", "input_tokens")),
        tokens_out=count(dig(body, "usage", "output_tokens")),
        model=str(body.get("model") or ""),
        finish=str(body.get("stop_reason") or ""),
    )
