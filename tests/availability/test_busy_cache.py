"""Each process keeps the busy time it read (docs/decisions/0018-busy-time-cache.md): a change
to it, by whoever makes it, shows in the very next answer of every process."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import text

from openbooking.app import close_resources, create_app
from openbooking.kit import metrics
from openbooking.models import EventSession
from tests.bookings.conftest import clock, customer
from tests.bookings.helpers import CAMILLE, DAY, ny_booking, ny_service, slots
from tests.kit.test_metrics import written_value
from tests.verification.conftest import NEW_YORK, Customer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.config import Settings

__all__ = ["clock", "customer"]

KEPT = "openbooking_busy_time_cache_total"
MONTH = f"/book_dates/{NEW_YORK}"


def kept() -> float:
    metrics.flush()
    return written_value(KEPT, result="kept")


@pytest.fixture
async def other(customer: Customer, settings: Settings) -> AsyncIterator[Customer]:
    """The same partner in a second process on the same database (an app of its own)."""
    second = create_app(settings)
    transport = httpx.ASGITransport(app=second, client=("203.0.113.8", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Customer(http, customer.token)
    finally:
        await close_resources(second)


async def free_days(customer: Customer, service: int) -> list[str]:
    params = {"staff_id": CAMILLE, "service_ids": service, "date": DAY}
    response = await customer.get(MONTH, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"]["booking_dates"])


@pytest.mark.usefixtures("clock")
async def test_a_booking_in_another_process_shows_in_the_next_answer(
    customer: Customer, other: Customer
) -> None:
    service = await ny_service(customer)
    before = await slots(customer, NEW_YORK, CAMILLE, service)
    counted = kept()
    assert await slots(customer, NEW_YORK, CAMILLE, service) == before
    assert kept() > counted, "the second answer comes from what the process kept"

    response = await other.post(f"/book_record/{NEW_YORK}", ny_booking(service, before[0]))
    assert response.status_code == 201, response.text
    after = await slots(customer, NEW_YORK, CAMILLE, service)
    assert before[0] not in after
    assert after == [slot for slot in before if slot in after]


@pytest.mark.usefixtures("clock")
async def test_changes_made_in_the_database_show_in_the_next_answer(
    customer: Customer, run_in_session: Any
) -> None:
    service = await ny_service(customer)
    day = await slots(customer, NEW_YORK, CAMILLE, service)
    month = await free_days(customer, service)
    assert DAY in month
    assert await free_days(customer, service) == month  # kept now
    first, last = datetime.fromisoformat(day[0]), datetime.fromisoformat(day[-1])

    async def whole_day_session(session: AsyncSession) -> None:
        session.add(
            EventSession(
                event_id=403,
                location_id=NEW_YORK,
                staff_id=CAMILLE,
                starts_at=first,
                ends_at=last + timedelta(hours=4),
                capacity=4,
            )
        )

    await run_in_session(whole_day_session)
    assert await slots(customer, NEW_YORK, CAMILLE, service) == []
    assert DAY not in await free_days(customer, service)

    async def run(statement: str) -> None:
        async def execute(session: AsyncSession) -> None:
            await session.execute(text(statement))

        await run_in_session(execute)

    await run(f"UPDATE event_sessions SET status = 'cancelled' WHERE staff_id = {CAMILLE}")
    assert await slots(customer, NEW_YORK, CAMILLE, service) == day
    assert await free_days(customer, service) == month

    await run(f"UPDATE event_sessions SET status = 'active' WHERE staff_id = {CAMILLE}")
    assert await slots(customer, NEW_YORK, CAMILLE, service) == []
    await run(f"DELETE FROM event_sessions WHERE staff_id = {CAMILLE}")
    assert await slots(customer, NEW_YORK, CAMILLE, service) == day


@pytest.mark.usefixtures("clock")
async def test_a_cancelled_booking_frees_its_time_at_once(
    customer: Customer, other: Customer, run_in_session: Any
) -> None:
    service = await ny_service(customer)
    before = await slots(other, NEW_YORK, CAMILLE, service)
    response = await customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, before[0]))
    assert response.status_code == 201, response.text
    assert before[0] not in await slots(other, NEW_YORK, CAMILLE, service)

    async def cancel(session: AsyncSession) -> None:
        await session.execute(text("UPDATE records SET status = 'cancelled'"))

    await run_in_session(cancel)
    assert await slots(other, NEW_YORK, CAMILLE, service) == before
