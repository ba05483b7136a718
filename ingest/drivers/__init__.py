"""The driver registry. Order is detection order: most specific first, generic last.

A driver that fails to import fails the process at start-up: a silently missing
driver would turn a vendor's alerts into 400s.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from . import alertmanager, generic
from .base import Driver, ParseError

DRIVERS: tuple[ModuleType, ...] = (
    alertmanager,
    generic,
)

BY_NAME: dict[str, ModuleType] = {d.NAME: d for d in DRIVERS}


def detect(payload: Any) -> ModuleType | None:
    """The first driver, in registry order, whose detector accepts the payload."""
    for driver in DRIVERS:
        if driver.detect(payload):
            return driver
    return None


__all__ = ["BY_NAME", "DRIVERS", "Driver", "ParseError", "detect"]
