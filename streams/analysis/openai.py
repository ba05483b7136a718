"""The `openai` provider: the Chat Completions protocol, POST {base_url}/chat/completions.

One module serves every server that speaks it; the base URL and model choose which:
OpenAI (https://api.openai.com/v1), Azure OpenAI-style gateways
(https://<resource>.openai.azure.com/openai/deployments/<deployment>, options
auth="api-key" and api_version), Mistral (https://api.mistral.ai/v1), xAI
(https://api.x.ai/v1), Ollama (http://127.0.0.1:11434/v1), vLLM and LM Studio
(http://127.0.0.1:1234/v1). Options: auth = bearer | api-key | none,
api_version, json_mode (response_format json_object; off for servers without
it), max_tokens and max_tokens_field (newer OpenAI models take
max_completion_tokens).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .base import Completion, ProviderConfig, WireRequest, bad_response, base_url, count, dig
from .prompt import Prompt

KIND = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"


def build_request(config: ProviderConfig, prompt: Prompt) -> WireRequest:
    url = f"{base_url(config, DEFAULT_BASE_URL)}/chat/completions"
    api_version = str(config.option("api_version", ""))
    if api_version:
        url += f"?api-version={quote(api_version, safe='-.')}"
    headers = {"content-type": "application/json", "accept": "application/json"}
    key = config.api_key.reveal()
    auth = str(config.option("auth", "bearer"))
    if key and auth == "bearer":
        headers["authorization"] = f"Bearer {key}"
    elif key and auth == "api-key":
        headers["api-key"] = key
    body: dict[str, Any] = {
        "model": config.model,
        "messages": [
            {"role": "system", "content": prompt.system},
            *({"role": m.role, "content": m.text} for m in prompt.messages),
        ],
        "temperature": 0,
        str(config.option("max_tokens_field", "max_tokens")): config.max_tokens,
    }
    if config.option("json_mode", True):
        body["response_format"] = {"type": "json_object"}
    return WireRequest(url, body, headers)


def parse_response(body: Any) -> Completion:
    message = dig(body, "choices", 0, "message")
    if not isinstance(message, dict):
        raise bad_response("no choices[0].message")
    text = message.get("content")
    if not isinstance(text, str):
        raise bad_response("the model refused" if message.get("refusal") else "no message content")
    return Completion(
        text=text,
        tokens_in=count(dig(body, "usage", "prompt_tokens")),
        tokens_out=count(dig(body, "usage", "completion_tokens")),
        model=str(body.get("model") or ""),
        finish=str(dig(body, "choices", 0, "finish_reason") or ""),
    )
