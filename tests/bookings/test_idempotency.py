"""T23: `Idempotency-Key` on book_record: replay, changed body, in flight, expiry, scope."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from openbooking.bookings import idempotency
from openbooking.kit.db import create_sessionmaker, unit_of_work
from openbooking.models import IdempotentRequest
from openbooking.partners import service as partners
from tests.bookings.helpers import ny_booking, ny_service, record_count, slots
from tests.conftest import SECRETS
from tests.verification.conftest import NEW_YORK

if TYPE_CHECKING:
    import httpx
    import time_machine
    from fastapi import FastAPI

    from tests.verification.conftest import Customer

KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"


pytestmark = pytest.mark.usefixtures("clock")


async def booking(customer: Customer, index: int = 0) -> dict[str, Any]:
    service = await ny_service(customer)
    return ny_booking(service, (await slots(customer, NEW_YORK, 204, service))[index])


async def book(customer: Customer, body: dict[str, Any], key: str | bytes = KEY) -> httpx.Response:
    return await customer.post(f"/book_record/{NEW_YORK}", body, headers={"Idempotency-Key": key})


@pytest.mark.usefixtures("demo")
class TestIdempotencyKey:
    async def test_a_retry_gets_the_first_answer(
        self, customer: Customer, run_in_session: Any
    ) -> None:
        body = await booking(customer)
        first = await book(customer, body)
        assert first.status_code == 201, first.text
        again = await book(customer, body)
        assert again.status_code == 201
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert await run_in_session(record_count) == 1
        (item,) = again.json()["data"]
        read = await customer.get(
            f"/book_record/{NEW_YORK}/{item['record_id']}/{item['record_hash']}"
        )
        assert read.status_code == 200, "the replayed hash opens the record"

    async def test_the_same_key_with_another_body_is_422(
        self, customer: Customer, run_in_session: Any
    ) -> None:
        assert (await book(customer, await booking(customer, 0))).status_code == 201
        other = await book(customer, await booking(customer, 2))
        assert other.status_code == 422, other.text
        assert other.json()["meta"]["errors"][0]["field"] == "Idempotency-Key"
        assert await run_in_session(record_count) == 1

    async def test_concurrent_retries_book_once(
        self, customer: Customer, run_in_session: Any
    ) -> None:
        body = await booking(customer)
        answers = await asyncio.gather(*(book(customer, body) for _ in range(8)))
        statuses = sorted(answer.status_code for answer in answers)
        assert set(statuses) <= {201, 409}, statuses
        created = [answer.content for answer in answers if answer.status_code == 201]
        assert created, "the first call books"
        assert len(set(created)) == 1, "every 201 is the one answer"
        assert await run_in_session(record_count) == 1

    async def test_a_call_in_flight_is_409_until_its_lease_ends(
        self,
        app: FastAPI,
        customer: Customer,
        partner_token: str,
        run_in_session: Any,
        clock: time_machine.Traveller,
    ) -> None:
        body = await booking(customer)
        partner = await run_in_session(lambda session: partners.find_active(session, partner_token))
        claim = idempotency.Claim.of(app.state.secret_key, partner.id, KEY, [NEW_YORK, None, body])
        # A first call claimed the key and has not answered yet (or its process died).
        async with unit_of_work(create_sessionmaker(app.state.engine)) as work:
            assert await idempotency.begin(work, claim) is None
        busy = await book(customer, body)
        assert busy.status_code == 409, busy.text
        assert busy.json()["success"] is False
        assert await run_in_session(record_count) == 0
        clock.shift(idempotency.LEASE + timedelta(seconds=1))
        assert (await book(customer, body)).status_code == 201
        assert await run_in_session(record_count) == 1

    async def test_refusals_are_replayed_too(self, customer: Customer) -> None:
        body = await booking(customer)
        first = await customer.post(f"/book_record/{NEW_YORK}", body)
        assert first.status_code == 201
        taken = await book(customer, body)
        assert taken.status_code == 422
        assert taken.json()["meta"]["errors"][0]["code"] == 433
        (item,) = first.json()["data"]
        cancel = f"/user/records/{item['record_id']}/{item['record_hash']}"
        assert (await customer.send("DELETE", cancel, None)).status_code == 200
        again = await book(customer, body)
        assert (again.status_code, again.content) == (taken.status_code, taken.content)
        assert again.headers["idempotent-replayed"] == "true"

    async def test_keys_are_kept_a_day(
        self, customer: Customer, run_in_session: Any, clock: time_machine.Traveller
    ) -> None:
        assert (await book(customer, await booking(customer, 0))).status_code == 201
        clock.shift(timedelta(hours=23))
        assert (await book(customer, await booking(customer, 2))).status_code == 422
        clock.shift(timedelta(hours=1, seconds=1))
        fresh = await book(customer, await booking(customer, 2))
        assert fresh.status_code == 201, "a day later the key is new again"
        assert "idempotent-replayed" not in fresh.headers
        assert await run_in_session(record_count) == 2

    async def test_keys_belong_to_one_partner(
        self, customer: Customer, run_in_session: Any
    ) -> None:
        body = await booking(customer)
        first = await book(customer, body)
        assert first.status_code == 201
        other_token = await run_in_session(lambda session: partners.create(session, "other"))
        SECRETS.add(other_token)
        customer.token = other_token
        second = await book(customer, body)
        assert second.status_code == 422, "ran again (slot taken) instead of replaying"
        assert first.json()["data"][0]["record_hash"] not in second.text

    @pytest.mark.parametrize("key", ["", " ", "k" * 256, "ключ".encode(), "a\tb"])
    async def test_malformed_keys_are_400(
        self, customer: Customer, run_in_session: Any, key: str | bytes
    ) -> None:
        response = await book(customer, await booking(customer), key=key)
        assert response.status_code == 400, response.text
        assert response.json()["meta"]["errors"][0]["field"] == "Idempotency-Key"
        assert await run_in_session(record_count) == 0

    async def test_long_and_quoted_keys_work(self, customer: Customer) -> None:
        assert (await book(customer, await booking(customer), key="k" * 255)).status_code == 201
        body = await booking(customer, 2)
        quoted = await book(customer, body, key='"abc"')
        assert quoted.status_code == 201
        same_key = await book(customer, body, key="abc")
        assert same_key.headers["idempotent-replayed"] == "true"

    async def test_the_database_keeps_neither_key_nor_hash(
        self, customer: Customer, run_in_session: Any
    ) -> None:
        answer = await book(customer, await booking(customer))
        record_hash = answer.json()["data"][0]["record_hash"]
        (row,) = await run_in_session(lambda session: session.scalars(select(IdempotentRequest)))
        assert KEY not in row.key_digest
        assert row.response is not None
        assert record_hash.encode() not in row.response
        assert b"record_hash" not in row.response
