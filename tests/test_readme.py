"""README lists every environment variable the settings read, so docs cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented_with_its_default() -> None:
    source = (ROOT / "alertstream" / "config.py").read_text()
    names = set(re.findall(r'"((?:ALERTSTREAM|KAFKA|DATABASE|REDIS)_[A-Z_]+)"', source))
    readme = (ROOT / "README.md").read_text()
    missing = sorted(n for n in names if f"`{n}`" not in readme)
    assert not missing, f"README.md does not document: {missing}"


def test_readme_shows_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
