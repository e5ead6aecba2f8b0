"""The admin page's cookie session over HTTP: it logs in, reaches the B2B API with nothing but
an HttpOnly cookie and the page's CSRF header, refuses cross-site use, expires and logs out."""

from __future__ import annotations

import logging
from datetime import timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any

from openbooking.admin import service
from tests.backoffice.conftest import DAY, NEW_YORK, PASSWORD
from tests.conftest import SECRETS

if TYPE_CHECKING:
    import httpx
    import pytest
    import time_machine
    from fastapi import FastAPI

    from openbooking.config import Settings
    from tests.backoffice.conftest import Business

PAGE = {"X-OpenBooking-Admin": "1", "Sec-Fetch-Site": "same-origin"}


async def log_in(http: httpx.AsyncClient, who: str = "administrator") -> httpx.Response:
    return await http.post(
        "/admin/session", json={"login": f"{who}@example.org", "password": PASSWORD}, headers=PAGE
    )


async def test_the_page_is_served_with_a_strict_policy_and_no_token(
    app: FastAPI, business: Business
) -> None:
    page = await business.http.get("/admin")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-frame-options"] == "DENY"
    served = [page.text]
    static = resources.files("openbooking.admin") / "static"
    for name in ("app.js", "api.js", "dom.js", "admin.css"):
        answer = await business.http.get(f"/admin/static/{name}")
        assert answer.status_code == 200
        served.append(answer.text)
    assert (await business.http.get("/admin/static/..%2Fservice.py")).status_code == 404
    assert (await business.http.get("/admin/static/admin.html")).status_code == 404
    secrets_ = [business.partner, service.partner_token(app.state.secret_key)]
    secrets_ += [token for token in business.tokens.values() if token]
    for text in served:
        assert "<script>" not in text  # no inline script anywhere
        for secret in secrets_:
            assert secret not in text
    assert static.joinpath("admin.html").is_file()


async def test_a_cookie_session_reaches_the_business_api(business: Business) -> None:
    http = business.http
    answer = await log_in(http)
    assert answer.status_code == 201, answer.text
    assert answer.json()["data"]["role"] == "administrator"
    assert "user_token" not in answer.text
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Max-Age=43200" in cookie
    me = await http.get("/admin/session", headers=PAGE)
    assert me.json()["data"]["location_ids"] == [NEW_YORK]
    records = await http.get(
        f"/api/v1/records/{NEW_YORK}", params={"start_date": DAY}, headers=PAGE
    )
    assert records.status_code == 200, records.text
    staff = await http.get(f"/api/v1/staff/{NEW_YORK}", headers=PAGE)
    assert staff.status_code == 200


async def test_a_cookie_request_is_logged_with_its_route(
    business: Business, caplog: pytest.LogCaptureFixture
) -> None:
    assert (await log_in(business.http)).status_code == 201
    caplog.set_level(logging.INFO, logger="openbooking.access")
    caplog.clear()
    answer = await business.http.get(f"/api/v1/staff/{NEW_YORK}", headers=PAGE)
    assert answer.status_code == 200
    (line,) = [r.getMessage() for r in caplog.records if r.name == "openbooking.access"]
    assert line.startswith("GET /staff/{location_id} 200 "), line


async def test_the_cookie_alone_is_no_credential(business: Business) -> None:
    """CSRF: without the page's header, from another site or origin, the cookie counts for
    nothing; a form posted from elsewhere cannot log anyone in either."""
    http = business.http
    assert (await log_in(http)).status_code == 201
    path = f"/api/v1/records/{NEW_YORK}"
    refused: list[dict[str, Any]] = [
        {},
        {"Sec-Fetch-Site": "same-origin"},
        {"X-OpenBooking-Admin": "1", "Sec-Fetch-Site": "cross-site"},
        {"X-OpenBooking-Admin": "1", "Sec-Fetch-Site": "same-site"},
        {"X-OpenBooking-Admin": "1", "Origin": "https://evil.example"},
    ]
    for headers in refused:
        answer = await http.get(path, headers=headers)
        assert answer.status_code == 401, headers
        cancel = await http.delete(f"/api/v1/record/{NEW_YORK}/1", headers=headers)
        assert cancel.status_code == 401, headers
    assert (
        await http.get(path, headers={**PAGE, "Origin": "http://testserver"})
    ).status_code == 200
    form = await http.post(
        "/admin/session",
        data={"login": "owner@example.org", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert form.status_code == 401


async def test_behind_a_proxy_that_rewrites_host_the_public_origin_counts(
    business: Business, settings: Settings
) -> None:
    """A reverse proxy passes `Host: 127.0.0.1:8000` on; the browser's `Origin` is the public
    address. That origin (OPENBOOKING_PUBLIC_URL's) is the page's own; any other is refused."""
    http = business.http
    staff = f"/api/v1/staff/{NEW_YORK}"
    proxied = {**PAGE, "Host": "127.0.0.1:8000", "Origin": "https://booking.example.com"}
    login = {"login": "owner@example.org", "password": PASSWORD}
    settings.public_url = ""  # not said: only Host counts, and the proxy hides the real one
    assert (await http.post("/admin/session", json=login, headers=proxied)).status_code == 401
    settings.public_url = "https://Booking.example.com:443/"
    assert (await http.post("/admin/session", json=login, headers=proxied)).status_code == 201
    assert (await http.get(staff, headers=proxied)).status_code == 200
    assert (await http.get("/admin/session", headers=proxied)).status_code == 200
    for foreign in (
        "https://evil.example",
        "http://booking.example.com",
        "https://booking.example.com:8443",
        "https://booking.example.com.evil.example",
        "null",
    ):
        refused = {**proxied, "Origin": foreign}
        assert (await http.get(staff, headers=refused)).status_code == 401, foreign
        cancel = await http.delete(f"/api/v1/record/{NEW_YORK}/1", headers=refused)
        assert cancel.status_code == 401, foreign
        assert (await http.post("/admin/session", json=login, headers=refused)).status_code == 401
    # The server's own origin as the request reached it still counts.
    direct = {**PAGE, "Origin": "http://testserver"}
    assert (await http.get(staff, headers=direct)).status_code == 200
    settings.public_url = "http://127.0.0.1:8000"  # what `serve` sets when nothing is said
    assert (await http.get(staff, headers=proxied)).status_code == 401


async def test_log_out_revokes_the_token(business: Business) -> None:
    http = business.http
    assert (await log_in(http, "owner")).status_code == 201
    token = http.cookies[service.COOKIE]
    SECRETS.add(token)
    out = await http.delete("/admin/session", headers=PAGE)
    assert out.status_code == 200
    assert service.COOKIE not in http.cookies
    http.cookies.set(service.COOKIE, token)  # a copy kept somewhere is dead too
    assert (await http.get(f"/api/v1/staff/{NEW_YORK}", headers=PAGE)).status_code == 401
    answer = await http.get(
        f"/api/v1/staff/{NEW_YORK}",
        headers={"Authorization": f"Bearer {business.partner}, User {token}"},
    )
    assert answer.status_code == 401


async def test_a_session_in_use_lasts_hours_not_days(
    business: Business, clock: time_machine.Traveller
) -> None:
    """Used every 25 minutes, a session lives on, but never past SESSION_HOURS."""
    http = business.http
    assert (await log_in(http, "member")).status_code == 201
    used = timedelta()
    while used + timedelta(minutes=25) < timedelta(hours=service.SESSION_HOURS):
        clock.shift(timedelta(minutes=25))
        used += timedelta(minutes=25)
        answer = await http.get(f"/api/v1/staff/{NEW_YORK}", headers=PAGE)
        assert answer.status_code == 200, used
    clock.shift(timedelta(hours=service.SESSION_HOURS) - used + timedelta(minutes=1))
    assert (await http.get("/admin/session", headers=PAGE)).status_code == 401
    assert (await http.get(f"/api/v1/staff/{NEW_YORK}", headers=PAGE)).status_code == 401


async def test_a_session_not_used_ends_after_the_idle_minutes(
    business: Business, clock: time_machine.Traveller
) -> None:
    """OPENBOOKING_ADMIN_IDLE_MINUTES (30) without a person's request ends the session; the
    page's background polling does not keep it alive."""
    http = business.http
    answer = await log_in(http, "owner")
    assert answer.json()["data"]["idle_minutes"] == 30
    staff = f"/api/v1/staff/{NEW_YORK}"
    clock.shift(timedelta(minutes=29))
    assert (await http.get(staff, headers=PAGE)).status_code == 200  # used: 30 more minutes
    clock.shift(timedelta(minutes=29))
    assert (await http.get("/admin/session", headers=PAGE)).status_code == 200
    polling = {**PAGE, "X-OpenBooking-Background": "1"}
    for _ in range(5):  # 5 x 5 minutes of polling alone
        clock.shift(timedelta(minutes=5))
        assert (await http.get(staff, headers=polling)).status_code == 200
    clock.shift(timedelta(minutes=6))  # 31 minutes after the last use
    assert (await http.get(staff, headers=polling)).status_code == 401
    assert (await http.get(staff, headers=PAGE)).status_code == 401, "ended stays ended"
    assert (await http.get("/admin/session", headers=PAGE)).status_code == 401
    again = await log_in(http, "owner")
    assert again.status_code == 201
    assert (await http.get(staff, headers=PAGE)).status_code == 200


async def test_a_wrong_password_sets_no_cookie(business: Business) -> None:
    answer = await business.http.post(
        "/admin/session", json={"login": "owner@example.org", "password": "nope" * 5}, headers=PAGE
    )
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers


async def test_over_https_the_cookie_is_secure_and_host_locked(
    app: FastAPI, business: Business
) -> None:
    import httpx  # noqa: PLC0415

    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        answer = await log_in(http, "owner")
        assert answer.status_code == 201
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{service.SECURE_COOKIE}=")
        assert "Secure" in cookie
        assert "Path=/" in cookie
        assert "Domain" not in cookie
        token = http.cookies[service.SECURE_COOKIE]
        SECRETS.add(token)
        ok = await http.get(
            f"/api/v1/staff/{NEW_YORK}", headers={**PAGE, "Origin": "https://testserver"}
        )
        assert ok.status_code == 200
        # The plain-http name is not accepted over https (a subdomain could have set it).
        http.cookies.clear()
        http.cookies.set(service.COOKIE, token)
        assert (await http.get(f"/api/v1/staff/{NEW_YORK}", headers=PAGE)).status_code == 401
