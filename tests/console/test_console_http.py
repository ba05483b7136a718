"""The console over HTTP against the real edge app (create_app), broker and PostgreSQL: login,
cookies, CSRF, session expiry, every page with data, and no 500 whatever the input."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from alertstream.config import Settings

from ..components import key_headers
from .client import PASSWORD, User, console_client, csrf_of, form_post, login, new_user
from .seed import seed

pytestmark = pytest.mark.integration


@pytest.fixture
def user(database_url: str) -> User:
    return new_user(database_url)


async def test_console_needs_a_session_not_an_api_key(settings: Settings, api_key: str) -> None:
    async with console_client(settings) as c:
        for path in ("/console/incidents", "/console/no/such/page", "/console/silences?all=1"):
            response = await c.get(path)
            assert response.status_code == 303, path  # to the login page, never a map of the routes
            assert response.headers["location"].startswith("/console/login?next=%2Fconsole%2F")
        assert (await c.get("/console/incidents", headers=key_headers(api_key))).status_code == 303  # a key is no login
        assert (await c.get("/console")).status_code in (307, 308)
        assert (await c.get("/console/incidents/counts", headers={"X-Console-Fetch": "1"})).status_code == 401
        assert (await c.post("/console/incidents/x/acknowledge", data={"csrf": "x"})).status_code == 303
        # The API-key rule is unchanged next door.
        assert (await c.get("/incidents/")).status_code == 401
        page = await c.get("/console/login")
        assert page.status_code == 200 and "Log in" in page.text and api_key not in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
        assert (await c.get("/console/static/console.css")).status_code == 200


async def test_login_sets_a_strict_session_cookie(settings: Settings, user: User, database_url: str) -> None:
    async with console_client(settings) as c:
        response = await login(c, user, next_path="/console/silences")
        assert response.status_code == 303 and response.headers["location"] == "/console/silences"
        cookie = next(v for k, v in response.headers.multi_items()
                      if k == "set-cookie" and v.startswith("alertstream_console="))
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "path=/console", "samesite=lax"} <= flags
        assert "secure" not in flags  # plain http on 127.0.0.1: the dev exception
        raw = cookie.split(";")[0].split("=", 1)[1]
        with psycopg.connect(database_url) as conn:
            stored = conn.execute("SELECT token_sha256 FROM console_sessions WHERE user_name = %s",
                                  (user.name,)).fetchall()
        assert stored and raw not in {row[0] for row in stored}  # only the hash is kept
        page = await c.get("/console/incidents")
        assert page.status_code == 200 and user.name in page.text
    async with console_client(settings, base_url="https://alerts.example.com") as c:
        response = await login(c, user)
        cookie = next(v for k, v in response.headers.multi_items() if v.startswith("alertstream_console="))
        assert "secure" in cookie.lower()
    async with console_client(settings, base_url="http://alerts.example.com") as c:  # TLS ended at a proxy
        page = await c.get("/console/login")
        assert "secure" in page.headers["set-cookie"].lower()


async def test_wrong_password_unknown_user_and_disabled_user(settings: Settings, user: User,
                                                             database_url: str) -> None:
    async with console_client(settings) as c:
        for name, password in ((user.name, "wrong password!!"), ("nobody-" + uuid.uuid4().hex[:6], PASSWORD),
                               ("bad name with spaces", PASSWORD), (user.name, "")):
            response = await login(c, User(name), password=password)
            assert response.status_code == 401 and "Wrong name or password." in response.text
            assert "alertstream_console=" not in response.headers.get("set-cookie", "")
        with psycopg.connect(database_url) as conn:
            conn.execute("UPDATE console_users SET disabled_at = now() WHERE name = %s", (user.name,))
        assert (await login(c, user)).status_code == 401


async def test_login_without_its_csrf_token_is_403(settings: Settings, user: User) -> None:
    async with console_client(settings) as c:
        await c.get("/console/login")
        response = await c.post("/console/login", data={"name": user.name, "password": user.password})
        assert response.status_code == 403
        response = await c.post("/console/login", data={"csrf": "forged", "name": user.name,
                                                         "password": user.password})
        assert response.status_code == 403


async def test_every_form_needs_the_session_csrf_token(settings: Settings, user: User, database_url: str) -> None:
    seeded = await seed(database_url)
    page = f"/console/incidents/{seeded.incident_id}"
    async with console_client(settings) as c:
        await login(c, user)
        posts = [f"{page}/acknowledge", f"{page}/note", "/console/silences",
                 f"/console/silences/{seeded.silence_id}/expire", "/console/channels/default-webhook/test",
                 f"/console/deliveries/{seeded.failed_delivery}/retry", "/console/logout"]
        for action in posts:
            for data in ({}, {"csrf": ""}, {"csrf": "0" * 64}):
                response = await c.post(action, data={**data, "note": "x"})
                assert response.status_code == 403, (action, data)
        # Another session's token is no better.
        async with console_client(settings) as other:
            await login(other, user)
            foreign = csrf_of((await other.get(page)).text)
        assert (await c.post(f"{page}/acknowledge", data={"csrf": foreign})).status_code == 403
        response = await c.post(f"{page}/acknowledge", content=b'{"csrf": "x"}',
                                headers={"content-type": "application/json"})
        assert response.status_code == 415
        still = await c.get(page)
        assert still.status_code == 200 and "Acknowledge" in still.text  # nothing was done


async def test_acknowledge_from_the_console_publishes_the_command(settings: Settings, user: User,
                                                                  database_url: str) -> None:
    seeded = await seed(database_url)
    page = f"/console/incidents/{seeded.incident_id}"
    async with console_client(settings) as c:
        await login(c, user)
        response = await form_post(c, page, f"{page}/acknowledge")
        assert response.status_code == 303 and response.headers["location"] == f"{page}?flash=acknowledge"
        shown = await c.get(response.headers["location"])
        assert "Acknowledgement sent" in shown.text
        refused = await form_post(c, page, f"{page}/note", note="   ")
        assert refused.status_code == 400 and "a note needs text" in refused.text
        missing = await form_post(c, page, "/console/incidents/no-such-incident/resolve")
        assert missing.status_code == 404


async def test_silence_create_and_expire(settings: Settings, user: User, database_url: str) -> None:
    marker = uuid.uuid4().hex[:8]
    async with console_client(settings) as c:
        await login(c, user)
        bad = await form_post(c, "/console/silences", "/console/silences", matchers="not a matcher", duration="2h")
        assert bad.status_code == 400 and "is not NAME=VALUE" in bad.text and "not a matcher" in bad.text
        bad = await form_post(c, "/console/silences", "/console/silences", matchers='a="b"', duration="forever-ish")
        assert bad.status_code == 400
        made = await form_post(c, "/console/silences", "/console/silences", matchers=f'alertname="Maint-{marker}"',
                               duration="1h", comment=f"swap {marker}")
        assert made.status_code == 303
        listing = await c.get("/console/silences")
        assert f"Maint-{marker}" in listing.text and f"console:{user.name}" in listing.text
        with psycopg.connect(database_url) as conn:
            (silence_id,) = conn.execute("SELECT silence_id FROM silences WHERE comment = %s",
                                         (f"swap {marker}",)).fetchone()
        ended = await form_post(c, "/console/silences", f"/console/silences/{silence_id}/expire")
        assert ended.status_code == 303
        again = await form_post(c, "/console/silences", f"/console/silences/{silence_id}/expire")
        assert again.status_code == 409 and "already ended" in again.text
        assert (await form_post(c, "/console/silences", "/console/silences/nope/expire")).status_code == 404


async def test_session_expiry_idle_absolute_logout_and_disable(settings: Settings, user: User,
                                                               database_url: str) -> None:
    def age(column: str, seconds: int) -> None:
        with psycopg.connect(database_url) as conn:
            conn.execute(f"UPDATE console_sessions SET {column} = {column} - make_interval(secs => %s)"
                         " WHERE user_name = %s", (seconds, user.name))

    async with console_client(settings) as c:
        await login(c, user)
        assert (await c.get("/console/incidents")).status_code == 200
        age("last_seen_at", int(settings.edge.console_idle_s) + 1)
        response = await c.get("/console/incidents")
        assert response.status_code == 303 and "/console/login" in response.headers["location"]
        assert (await c.get("/console/incidents")).status_code == 303  # the row is gone, not just refused

        await login(c, user)
        age("created_at", int(settings.edge.console_session_s) + 1)
        assert (await c.get("/console/incidents")).status_code == 303

        await login(c, user)
        out = await form_post(c, "/console/incidents", "/console/logout")
        assert out.status_code == 303 and "logged-out" in out.headers["location"]
        assert "You are logged out." in (await c.get(out.headers["location"])).text
        assert (await c.get("/console/incidents")).status_code == 303

        await login(c, user)
        with psycopg.connect(database_url) as conn:
            conn.execute("UPDATE console_users SET disabled_at = now() WHERE name = %s", (user.name,))
        assert (await c.get("/console/incidents")).status_code == 303


async def test_every_page_renders_with_data(settings: Settings, user: User, database_url: str) -> None:
    seeded = await seed(database_url)
    async with console_client(settings) as c:
        await login(c, user)
        listing = await c.get("/console/incidents", params={"status": "open", "severity": "critical",
                                                             "source": "grafana", "since": "1h"})
        assert listing.status_code == 200 and seeded.title in listing.text
        assert 'data-poll="/console/incidents/counts"' in listing.text
        other = await c.get("/console/incidents", params={"source": "zabbix", "since": "1h"})
        assert seeded.title not in other.text
        counts = await c.get("/console/incidents/counts", headers={"X-Console-Fetch": "1"})
        assert counts.status_code == 200 and "<ul class=\"counts\"" in counts.text

        page = await c.get(f"/console/incidents/{seeded.incident_id}")
        text = page.text
        assert page.status_code == 200
        for expected in (seeded.title, f"disk 97% full on db-1 ({seeded.marker})", "instance=db-1",  # alerts
                         f"looking {seeded.marker}", "api-key-ops",  # the timeline
                         f"The data volume is nearly full ({seeded.marker}).", "Free space",  # analysis
                         "default-webhook", f"pager-{seeded.marker}", "permanent_http_error",  # deliveries
                         ">Acknowledge<", ">Resolve<", ">Close<", "https://runbooks.example/disk"):
            assert expected in text, expected
        assert "javascript:alert" not in text  # an alert's link is shown only when it is http(s)
        live = await c.get(f"/console/incidents/{seeded.incident_id}/live", headers={"X-Console-Fetch": "1"})
        assert live.status_code == 200 and "<html" not in live.text and "default-webhook" in live.text

        silences = await c.get("/console/silences")
        assert silences.status_code == 200 and f"Maint-{seeded.marker}" in silences.text
        channels = await c.get("/console/channels")
        assert channels.status_code == 200
        deliveries = await c.get("/console/deliveries", params={"incident": seeded.incident_id})
        assert deliveries.status_code == 200 and f"pager-{seeded.marker}" in deliveries.text
        assert f"/console/deliveries/{seeded.failed_delivery.replace(':', '%3A')}/retry" in deliveries.text


async def test_retry_and_channel_test_answer_without_500(settings: Settings, user: User, database_url: str) -> None:
    seeded = await seed(database_url)
    async with console_client(settings) as c:
        await login(c, user)
        # A failed delivery with no stored record cannot be re-driven: a sentence, not a crash.
        retry = await form_post(c, "/console/deliveries", f"/console/deliveries/{seeded.failed_delivery}/retry")
        assert retry.status_code == 409 and "Only a failed or dead-lettered delivery" in retry.text
        missing = await form_post(c, "/console/channels", "/console/channels/no-such-channel/test")
        assert missing.status_code == 404 and "No channel named" in missing.text


BAD_GETS = [
    "/console/incidents?status=sleeping", "/console/incidents?severity=%00", "/console/incidents?since=yesterday",
    "/console/incidents?since=9999999999d", "/console/incidents?source=" + "x" * 500, "/console/incidents?since=-5h",
    "/console/incidents/%2e%2e", "/console/incidents/" + "x" * 300, "/console/incidents/%00",
    "/console/incidents?source=%00", "/console/silences/%00/expire",
    "/console/incidents/x/live", "/console/silences?all=%ff", "/console/deliveries?status=nope",
    "/console/deliveries?incident=" + "y" * 400, "/console/static/../templates/base.html", "/console/static/nope.js",
    "/console/login?next=https://evil.example", "/console/incidents/x/acknowledge",
]


@pytest.mark.parametrize("path", BAD_GETS)
async def test_bad_input_is_never_a_500(settings: Settings, user: User, path: str) -> None:
    async with console_client(settings) as c:
        await login(c, user)
        response = await c.get(path)
        assert response.status_code < 500, (path, response.status_code)
        assert "Traceback" not in response.text


async def test_bad_forms_are_never_a_500(settings: Settings, user: User, database_url: str) -> None:
    seeded = await seed(database_url)
    page = f"/console/incidents/{seeded.incident_id}"
    async with console_client(settings) as c:
        await login(c, user)
        token = csrf_of((await c.get(page)).text)
        cases = [
            (f"{page}/note", {"note": "n" * 5000}), (f"{page}/explode", {}), (f"{page}/note", {"note": "\x00"}),
            ("/console/silences", {"matchers": "", "duration": ""}), ("/console/silences", {"duration": "2h"}),
            ("/console/silences", {"matchers": 'a=~"("', "duration": "2h"}),
            ("/console/silences", {"matchers": 'a="b"', "duration": "0s"}),
            ("/console/deliveries/nope/retry", {}), ("/console/channels/%00/test", {}),
        ]
        for action, fields in cases:
            response = await c.post(action, data={"csrf": token, **fields})
            assert response.status_code < 500, (action, fields, response.status_code, response.text[:300])
        huge = await c.post(f"{page}/note", content=b"csrf=" + token.encode() + b"&note=" + b"n" * 70_000,
                            headers={"content-type": "application/x-www-form-urlencoded"})
        assert huge.status_code == 413
        odd = await c.post(f"{page}/note", content=b"\xff\xfe=%%%&&==", headers={
            "content-type": "application/x-www-form-urlencoded"})
        assert odd.status_code == 403


async def test_an_old_hash_is_upgraded_at_login(settings: Settings, database_url: str) -> None:
    from argon2 import PasswordHasher

    from alertstream.ingest.console.passwords import needs_rehash
    from alertstream.storage.console_users import create_user

    name = f"old-{uuid.uuid4().hex[:8]}"
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("short")  # an earlier policy
    create_user(database_url, name, old)
    assert needs_rehash(old)
    async with console_client(settings) as c:
        assert (await login(c, User(name, "short"))).status_code == 303
    with psycopg.connect(database_url) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM console_users WHERE name = %s", (name,)).fetchone()
    assert stored != old and not needs_rehash(stored)
