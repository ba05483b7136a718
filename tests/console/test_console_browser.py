"""The console in a real headless browser (Playwright driving Debian's chromium) against the real
pipeline: log in, see an incident a webhook created, acknowledge it, see the state change and
the delivery. Screenshots of the main pages land in the test's tmp dir.

Needs `apt-get install -y chromium` and the Python package `playwright` (never `playwright
install`: the browser is Debian's). Skips, saying which is missing, without them.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .client import User, new_user

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the Python package playwright is not installed (pip install playwright)",
        exc_type=ImportError)
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists()
                                              else shutil.which("chromium"), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_log_in_see_acknowledge_and_watch_the_delivery(browser, pipeline, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    shots = tmp_path / "screenshots"
    shots.mkdir()
    user: User = new_user(pipeline.database_url)
    name = f"DiskFull-{uuid.uuid4().hex[:8]}"
    response = pipeline.post(json={"name": name, "severity": "critical", "labels": {"instance": "db-7"},
                                   "annotations": {"summary": "disk 97% full on /var"}})
    assert response.status_code == 202, response.text

    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{pipeline.base_url}/console/incidents")
        expect(page).to_have_url(f"{pipeline.base_url}/console/login?next=%2Fconsole%2Fincidents")
        page.fill("input[name=name]", user.name)
        page.fill("input[name=password]", "not the password")
        page.click("button[type=submit]")
        expect(page.locator(".error")).to_have_text("Wrong name or password.")
        page.fill("input[name=password]", user.password)
        page.screenshot(path=shots / "login.png")
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{pipeline.base_url}/console/incidents")
        cookie = next(c for c in context.cookies() if c["name"] == "alertstream_console")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/console"

        link = page.get_by_role("link", name=f"{name} ")  # the title starts with the alert's name
        for _ in range(60):  # the check stage opens the incident within a second or two
            if link.count():
                break
            page.wait_for_timeout(500)
            page.reload()
        expect(link).to_be_visible()
        page.screenshot(path=shots / "incidents.png", full_page=True)

        link.click()
        live = page.locator("#live")
        expect(live.locator(".state .badge.status-open")).to_be_visible()
        # The "opened" notification went out (or does within a poll of the live fragment).
        expect(live.locator('tr[data-version="1"][data-status="sent"]')).to_have_count(1, timeout=30_000)
        expect(page.get_by_role("cell", name="disk 97% full on /var")).to_be_visible()
        page.screenshot(path=shots / "incident-open.png", full_page=True)

        page.get_by_role("button", name="Acknowledge").click()
        expect(page.locator(".flash")).to_contain_text("Acknowledgement sent")
        # The check stage applies it; the live fragment (polled every 5 s) shows the new state and delivery.
        expect(live.locator(".state .badge.status-acknowledged")).to_be_visible(timeout=30_000)
        expect(live.locator('tr[data-version="2"][data-status="sent"]')).to_have_count(1, timeout=30_000)
        expect(live.get_by_role("button", name="Acknowledge")).to_have_count(0)
        expect(live).to_contain_text(f"console:{user.name}")
        page.screenshot(path=shots / "incident-acknowledged.png", full_page=True)

        sent = pipeline.receiver.wait_for(
            lambda r: r.json()["title"].startswith(name) and r.json()["reason"] == "acknowledged", 1)
        assert sent and sent[0].json()["status"] == "acknowledged"

        page.goto(f"{pipeline.base_url}/console/silences")
        page.fill("textarea[name=matchers]", f'alertname="Maint-{name}"')
        page.fill("input[name=comment]", "browser test")
        page.get_by_role("button", name="Create silence").click()
        expect(page.locator(".flash")).to_contain_text("Silence created")
        expect(page.get_by_text(f'alertname="Maint-{name}"')).to_be_visible()
        page.screenshot(path=shots / "silences.png", full_page=True)
        page.goto(f"{pipeline.base_url}/console/channels")
        page.get_by_role("row", name="default-webhook").get_by_role("button", name="Send test").click()
        expect(page.locator(".flash")).to_have_text("Test message to default-webhook: sent (status 200)")
        page.screenshot(path=shots / "channels.png", full_page=True)
        page.goto(f"{pipeline.base_url}/console/deliveries")
        expect(page.locator("h1")).to_have_text("Deliveries")
        page.screenshot(path=shots / "deliveries.png", full_page=True)
        page.get_by_role("button", name="Log out").click()
        expect(page.locator(".flash")).to_have_text("You are logged out.")
    finally:
        context.close()
    print(f"console screenshots: {shots}")

