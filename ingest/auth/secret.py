"""A shared secret that never shows itself in repr(), str(), f-strings or logs."""

from __future__ import annotations

import hashlib
import hmac


class Secret:
    """The bytes of a secret. Only the code that uses them calls reveal()."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        if not isinstance(value, bytes) or not value:
            raise ValueError("a secret must be non-empty bytes")
        self._value = value

    @classmethod
    def from_text(cls, text: str) -> Secret:
        """Vendors that take the secret as typed (Grafana, PagerDuty, GitHub) use its UTF-8 bytes."""
        return cls(text.encode("utf-8"))

    def reveal(self) -> bytes:
        return self._value

    def equals(self, candidate: bytes) -> bool:
        """Constant-time, and over digests so the time does not depend on either length."""
        return hmac.compare_digest(hashlib.sha256(self._value).digest(), hashlib.sha256(candidate).digest())

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    # Immutable: copies (dataclasses.asdict deep-copies fields) may share the value;
    # pickling would write it out, so it is refused.
    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: object) -> Secret:
        return self

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is not picklable")
