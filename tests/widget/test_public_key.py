"""A booking form's public key, as the widget page carries it: it does what the widget does, for
the form's own locations only, within a per-address budget, and dies with its form."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from openbooking.business import service as business
from openbooking.widget import service as widget

if TYPE_CHECKING:
    from pathlib import Path

    import httpx
    from fastapi import FastAPI

    from openbooking.kit.ratelimit import RateLimiter

ALTEGIO = "application/vnd.api.v2+json"


@pytest.fixture
def keys(app: FastAPI) -> dict[int, str]:
    secret: bytes = app.state.secret_key
    return {form: widget.public_key(secret, form) for form in (1, 2, 3)}


async def get(client: httpx.AsyncClient, key: str, path: str, **params: Any) -> httpx.Response:
    return await client.get(
        f"/api/v1{path}",
        params=params,
        headers={"Authorization": f"Bearer {key}", "Accept": ALTEGIO},
    )


@pytest.mark.postgres
@pytest.mark.usefixtures("demo")
class TestWhatTheKeyMayDo:
    async def test_the_page_carries_the_key_that_the_api_accepts(
        self, client: httpx.AsyncClient, keys: dict[int, str]
    ) -> None:
        page = await client.get("/b/1")
        assert page.status_code == 200
        found = re.search(r'data-key="([^"]+)"', page.text)
        assert found is not None
        assert found[1] == keys[1]
        answer = await get(client, keys[1], "/bookform/1")
        assert answer.status_code == 200
        assert answer.json()["data"]["company_id"] == 1001
        services = await get(client, keys[1], "/book_services/1001")
        assert services.status_code == 200

    async def test_only_the_forms_own_locations(
        self, client: httpx.AsyncClient, keys: dict[int, str]
    ) -> None:
        assert (await get(client, keys[2], "/book_services/1002")).status_code == 200
        assert (await get(client, keys[2], "/book_services/1001")).status_code == 401
        assert (await get(client, keys[2], "/bookform/1")).status_code == 401
        # The chain's form books in every location of the chain.
        for location in (1001, 1002):
            assert (await get(client, keys[3], f"/book_staff/{location}")).status_code == 200

    async def test_nothing_the_widget_does_not_do(
        self, client: httpx.AsyncClient, keys: dict[int, str]
    ) -> None:
        login = await client.post(
            "/api/v1/booking/auth",
            json={"login": "+4915112345678", "password": "guess-guess-guess"},
            headers={"Authorization": f"Bearer {keys[1]}"},
        )
        assert login.status_code == 401
        assert login.json()["success"] is False
        profile = await get(client, keys[1], "/booking/user/data")
        assert profile.status_code == 401

    async def test_a_made_up_key_is_refused(
        self, client: httpx.AsyncClient, keys: dict[int, str]
    ) -> None:
        forged = keys[1][:-1] + ("0" if keys[1][-1] != "0" else "1")
        assert (await get(client, forged, "/bookform/1")).status_code == 401
        other_form = keys[1].replace("obw_1_", "obw_2_")
        assert (await get(client, other_form, "/bookform/2")).status_code == 401
        assert (await get(client, "obw_999_" + "0" * 32, "/bookform/999")).status_code == 401

    async def test_deleting_the_form_revokes_its_key(
        self,
        client: httpx.AsyncClient,
        keys: dict[int, str],
        run_in_session: Any,
        tmp_path: Path,
        app: FastAPI,
    ) -> None:
        app.state.partners.ttl = app.state.partners.ttl * 0  # no remembered keys
        assert (await get(client, keys[2], "/bookform/2")).status_code == 200
        document = yaml.safe_load(business.demo_path().read_text())
        soho = next(location for location in document["locations"] if location["id"] == 1002)
        soho["bookforms"] = []
        changed = tmp_path / "business.yaml"
        changed.write_text(yaml.safe_dump(document, allow_unicode=True))
        await run_in_session(lambda session: business.load_file(session, changed))
        assert (await get(client, keys[2], "/bookform/2")).status_code == 401
        assert (await client.get("/b/2")).status_code == 404
        assert (await get(client, keys[1], "/bookform/1")).status_code == 200


@pytest.mark.usefixtures("demo")
class TestBudget:
    async def test_each_address_has_a_budget_per_minute(
        self, client: httpx.AsyncClient, keys: dict[int, str], app: FastAPI
    ) -> None:
        app.state.settings.widget_requests_per_ip_minute = 3
        limiter: RateLimiter = app.state.limiter
        await limiter.reset()
        for _ in range(2):
            assert (await get(client, keys[1], "/i18n/en-US")).status_code == 200
        # Calls the key may not make count too.
        assert (await get(client, keys[1], "/book_services/1002")).status_code == 401
        refused = await get(client, keys[1], "/i18n/en-US")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["success"] is False


@pytest.mark.usefixtures("demo")
class TestPages:
    async def test_security_headers(self, client: httpx.AsyncClient) -> None:
        page = await client.get("/b/1")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "style-src 'self';" in policy
        assert "unsafe-inline" not in policy
        assert policy.endswith("frame-ancestors 'self' https://shop.lindenlark.example")
        assert page.headers["referrer-policy"] == "no-referrer"
        chain = await client.get("/b/3")
        assert chain.headers["content-security-policy"].endswith("frame-ancestors 'self'")

    async def test_manage_page_of_a_location(self, client: httpx.AsyncClient) -> None:
        page = await client.get("/r/1002/5/0123abcd")
        assert page.status_code == 200
        assert 'data-view="manage"' in page.text
        assert 'data-form="2"' in page.text
        assert page.headers["cache-control"] == "no-store"
        assert (await client.get("/r/4242/5/0123abcd")).status_code == 404

    async def test_unknown_form(self, client: httpx.AsyncClient) -> None:
        missing = await client.get("/b/999")
        assert missing.status_code == 404
        assert "does not exist" in missing.text
        assert missing.headers["content-type"].startswith("text/html")
        assert (await client.get("/b/x")).status_code == 422

    async def test_embed_script(self, client: httpx.AsyncClient) -> None:
        script = await client.get("/widget.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert "postMessage" in script.text or "message" in script.text
