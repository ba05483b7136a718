from __future__ import annotations

from typing import Any

import orjson


class JSONLimitError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def loads_strict(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise JSONLimitError(f"invalid JSON: {exc}") from None
