"""GET /metrics: the Prometheus text format, labelled by route templates, and who may read it.

The counters live in the test process and grow over the whole suite, so each test compares a
scrape before and after what it does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest
from pydantic import SecretStr

from openbooking.app import close_resources, create_app
from tests.bookings.helpers import CAMILLE, ny_booking, ny_service, slots
from tests.ops.metrics import samples, value
from tests.verification.conftest import BERLIN, NEW_YORK, PHONE, Customer

if TYPE_CHECKING:
    from fastapi import FastAPI

    from openbooking.config import Settings

HASH = "ab12" * 8


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return response.text


class TestRequestMetrics:
    async def test_requests_by_route_template_and_status(self, client: httpx.AsyncClient) -> None:
        labels = {
            "method": "GET",
            "route": "/user/records/{record_id}/{record_hash}",
            "status": "401",
        }
        before = await scrape(client)
        for _ in range(3):
            assert (await client.get(f"/api/v1/user/records/1/{HASH}")).status_code == 401
        after = await scrape(client)
        name = "openbooking_http_requests_total"
        assert value(after, name, **labels) - value(before, name, **labels) == 3
        assert "ab12" not in after, "a raw path reached a label"
        duration = "openbooking_http_request_duration_seconds_count"
        route = {"method": "GET", "route": labels["route"]}
        assert value(after, duration, **route) - value(before, duration, **route) == 3

    async def test_unknown_paths_and_methods_share_one_label(
        self, client: httpx.AsyncClient
    ) -> None:
        before = await scrape(client)
        assert (await client.get(f"/nothing/{HASH}")).status_code == 404
        assert (await client.request("BREW", "/healthz")).status_code == 405
        after = await scrape(client)
        name = "openbooking_http_requests_total"
        no_route = {"method": "GET", "route": "(no route)", "status": "404"}
        assert value(after, name, **no_route) - value(before, name, **no_route) == 1
        other = {"method": "other", "route": "/healthz", "status": "405"}
        assert value(after, name, **other) - value(before, name, **other) == 1
        assert "BREW" not in after
        assert "ab12" not in after


@pytest.mark.usefixtures("clock")
class TestDomainMetrics:
    async def test_bookings_sms_and_availability_cache(
        self, customer: Customer, client: httpx.AsyncClient
    ) -> None:
        before = await scrape(client)
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, CAMILLE, service))[0]
        await slots(customer, NEW_YORK, CAMILLE, service)  # the team now comes from the cache
        booked = await customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, when))
        assert booked.status_code == 201, booked.text
        (item,) = booked.json()["data"]
        path = f"/user/records/{item['record_id']}/{item['record_hash']}"
        assert (await customer.send("DELETE", path, None)).status_code == 200
        after = await scrape(client)

        def grew(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert grew("openbooking_bookings_created_total") == 1
        assert grew("openbooking_bookings_cancelled_total") == 1
        assert grew("openbooking_sms_sent_total", provider="outbox") >= 1  # the confirmation
        assert grew("openbooking_availability_cache_total", result="miss") >= 1
        assert grew("openbooking_availability_cache_total", result="hit") >= 1

    async def test_throttles_by_kind(self, customer: Customer, client: httpx.AsyncClient) -> None:
        before = await scrape(client)
        answers = [await customer.post(f"/book_code/{BERLIN}", {"phone": PHONE}) for _ in range(2)]
        assert [a.status_code for a in answers] == [201, 429]
        after = await scrape(client)
        name = "openbooking_throttles_total"
        kind = {"kind": "sms-phone-interval"}
        assert value(after, name, **kind) - value(before, name, **kind) == 1


class TestPoolMetric:
    async def test_connections_in_use(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        name = "openbooking_db_connections_in_use"
        idle = value(await scrape(client), name)
        async with app.state.engine.connect() as connection:
            assert connection is not None
            assert value(await scrape(client), name) == idle + 1
        assert value(await scrape(client), name) == idle


class TestMetricsAccess:
    async def test_open_to_this_machine_without_a_token(self, client: httpx.AsyncClient) -> None:
        text = await scrape(client)
        assert ("openbooking_bookings_created_total", frozenset()) in samples(text)

    @pytest.mark.parametrize(
        ("peer", "headers"),
        [
            ("203.0.113.9", {}),
            ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}),
            ("127.0.0.1", {"Forwarded": "for=203.0.113.9"}),
            ("::1", {"X-Real-IP": "203.0.113.9"}),
        ],
    )
    async def test_hidden_from_other_machines_and_proxies(
        self, app: FastAPI, peer: str, headers: dict[str, str]
    ) -> None:
        transport = httpx.ASGITransport(app=app, client=(peer, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as remote:
            response = await remote.get("/metrics", headers=headers)
        assert response.status_code == 404
        assert "openbooking_" not in response.text

    async def test_a_token_is_required_from_everyone_once_set(self, settings: Settings) -> None:
        token = "scrape-" + "x" * 30
        app = create_app(settings.model_copy(update={"metrics_token": SecretStr(token)}))
        try:
            transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as remote:
                answers: dict[str, Any] = {
                    auth: await remote.get(
                        "/metrics", headers={"Authorization": auth} if auth else {}
                    )
                    for auth in ("", "Bearer wrong", f"Bearer {token}x", f"Bearer {token}")
                }
        finally:
            await close_resources(app)
        assert [a.status_code for a in answers.values()] == [401, 401, 401, 200]
        assert answers[""].headers["www-authenticate"] == "Bearer"
        assert "openbooking_http_requests_total" in answers[f"Bearer {token}"].text
