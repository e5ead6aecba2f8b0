"""A process remembers a valid partner token for OPENBOOKING_PARTNER_CACHE_SECONDS, so a
revocation takes effect within that time, and never remembers an unknown token."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import time_machine
from sqlalchemy import event

from openbooking.auth.cache import PartnerCache
from openbooking.partners import service as partners

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from fastapi import FastAPI

    from tests.conftest import Api


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


async def status(api: Api, token: str) -> int:
    response = await api.client.get(
        "/api/v1/i18n/en-US", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


class TestPartnerCache:
    async def test_a_revoked_token_stops_working_within_the_cache_time(
        self, api: Api, run_in_session: Any, clock: time_machine.Traveller
    ) -> None:
        assert await status(api, api.token) == 200
        await run_in_session(lambda session: partners.revoke(session, "tests"))
        assert await status(api, api.token) == 200  # remembered for up to two seconds
        clock.shift(timedelta(seconds=2.5))
        assert await status(api, api.token) == 401
        assert await status(api, api.token) == 401

    async def test_without_the_cache_a_revocation_is_immediate(
        self, app: FastAPI, api: Api, run_in_session: Any
    ) -> None:
        app.state.partners = PartnerCache(0)  # OPENBOOKING_PARTNER_CACHE_SECONDS=0
        assert await status(api, api.token) == 200
        await run_in_session(lambda session: partners.revoke(session, "tests"))
        assert await status(api, api.token) == 401

    async def test_an_unknown_token_is_not_remembered(
        self, api: Api, run_in_session: Any, clock: time_machine.Traveller
    ) -> None:
        assert await status(api, "not-yet-a-token") == 401
        token = await run_in_session(lambda session: partners.create(session, "later"))
        assert await status(api, token) == 200

    async def test_requests_waiting_on_one_token_share_one_lookup(
        self, app: FastAPI, api: Api, clock: time_machine.Traveller
    ) -> None:
        lookups: list[str] = []

        def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if "partner_tokens" in statement:
                lookups.append(statement)

        engine = app.state.engine.sync_engine
        event.listen(engine, "before_cursor_execute", note)
        try:
            answers = await asyncio.gather(*(status(api, api.token) for _ in range(32)))
            assert answers == [200] * 32
            assert len(lookups) == 1
            clock.shift(timedelta(seconds=2.5))  # forgotten: looked up again, once
            answers = await asyncio.gather(*(status(api, api.token) for _ in range(32)))
            assert answers == [200] * 32
            assert len(lookups) == 2
        finally:
            event.remove(engine, "before_cursor_execute", note)
