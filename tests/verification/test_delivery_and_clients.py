"""Gateway failures, client addresses behind proxies (T13), and shared counters in Redis."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import select

from openbooking.app import close_resources, create_app
from openbooking.models import VerificationCode
from tests.verification.conftest import BERLIN, PHONE

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.config import Settings

REDIS_URL = os.environ.get("OPENBOOKING_TEST_REDIS_URL", "")
REQUIRE_REDIS = os.environ.get("OPENBOOKING_REQUIRE_REDIS") == "1"


async def post_code(
    app: FastAPI,
    token: str,
    phone: str,
    *,
    peer: str = "198.51.100.1",
    forwarded: str | None = None,
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(peer, 5000))
    headers = {"Authorization": f"Bearer {token}"}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        return await http.post(
            f"/api/v1/book_code/{BERLIN}", json={"phone": phone}, headers=headers
        )


@pytest.fixture
async def second_app(settings: Settings) -> AsyncIterator[Any]:
    """Build another app (another 'worker process') over the same database."""
    made: list[FastAPI] = []

    def build(**changes: Any) -> FastAPI:
        application = create_app(settings.model_copy(update=changes))
        made.append(application)
        return application

    yield build
    for application in made:
        await close_resources(application)


class TestGatewayFailure:
    @pytest.mark.usefixtures("demo")
    async def test_a_refused_sms_is_503_and_leaves_no_usable_code(
        self, second_app: Any, partner_token: str, run_in_session: Any
    ) -> None:
        app = second_app(
            sms_provider="http", sms_http_url="http://127.0.0.1:9/", sms_timeout_seconds=2
        )
        response = await post_code(app, partner_token, PHONE)
        assert response.status_code == 503
        assert response.json()["success"] is False

        async def codes(session: AsyncSession) -> list[VerificationCode]:
            return list(await session.scalars(select(VerificationCode)))

        (row,) = await run_in_session(codes)
        assert row.dead_at is not None


class TestClientAddress:
    @pytest.mark.usefixtures("demo")
    async def test_t13_forwarded_headers_from_strangers_are_ignored(
        self, app: FastAPI, partner_token: str, settings: Settings
    ) -> None:
        statuses = [
            (
                await post_code(
                    app, partner_token, f"+49151200000{n:02d}", forwarded=f"192.0.2.{n}"
                )
            ).status_code
            for n in range(settings.sms_phones_per_ip_hour + 2)
        ]
        assert statuses.count(201) == settings.sms_phones_per_ip_hour

    @pytest.mark.usefixtures("demo")
    async def test_a_trusted_proxy_passes_the_client_address_on(
        self, second_app: Any, partner_token: str, settings: Settings
    ) -> None:
        app = second_app(trusted_proxies=["10.0.0.0/8"])
        statuses = [
            (
                await post_code(
                    app,
                    partner_token,
                    f"+49151300000{n:02d}",
                    peer="10.1.2.3",
                    forwarded=f"6.6.6.6, 192.0.2.{n}",
                )
            ).status_code
            for n in range(settings.sms_phones_per_ip_hour + 2)
        ]
        assert statuses == [201] * (settings.sms_phones_per_ip_hour + 2)

    @pytest.mark.usefixtures("demo")
    async def test_t12_a_block_of_numbers_from_many_addresses(
        self, second_app: Any, partner_token: str, settings: Settings, outbox: Any
    ) -> None:
        """SMS pumping: adjacent numbers, each from its own address behind a trusted proxy."""
        app = second_app(trusted_proxies=["10.0.0.0/8"])
        cap = settings.sms_per_prefix_hour

        async def send(phone: str, n: int) -> int:
            response = await post_code(
                app, partner_token, phone, peer="10.1.2.3", forwarded=f"192.0.2.{n}"
            )
            return response.status_code

        block = [await send(f"+491513000{n:04d}", n) for n in range(cap + 5)]
        assert block == [201] * cap + [429] * 5
        assert len(outbox()) == cap, "no SMS beyond the cap"
        assert await send("+4915130010000", 200) == 201, "the next block is not affected"


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        if REQUIRE_REDIS:
            pytest.fail("OPENBOOKING_REQUIRE_REDIS=1 but OPENBOOKING_TEST_REDIS_URL is unset")
        pytest.skip("Redis not configured (set OPENBOOKING_TEST_REDIS_URL)")
    return REDIS_URL


class TestSharedCounters:
    @pytest.mark.usefixtures("demo")
    async def test_two_workers_share_the_per_address_budget_through_redis(
        self, second_app: Any, partner_token: str, settings: Settings, redis_url: str
    ) -> None:
        first, second = second_app(redis_url=redis_url), second_app(redis_url=redis_url)
        await first.state.limiter.reset()
        statuses = []
        for n in range(settings.sms_phones_per_ip_hour + 2):
            worker = first if n % 2 else second
            statuses.append(
                (await post_code(worker, partner_token, f"+49151400000{n:02d}")).status_code
            )
        assert statuses.count(201) == settings.sms_phones_per_ip_hour
        await first.state.limiter.reset()
