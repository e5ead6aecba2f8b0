"""Seats are never oversold: capacity N and N+10 customers at once give exactly N seats and
N+10 answers without a 5xx, on SQLite and PostgreSQL, in one process and through a real
two-worker server."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from openbooking.models import Record
from openbooking.models.records import RECORD_ACTIVE
from tests.bookings.helpers import error
from tests.bookings.test_races import Server, server
from tests.verification.conftest import NEW_YORK

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.verification.conftest import Customer

__all__ = ["server"]

CAPACITY = 10  # the demo's New York Sunday class


async def next_class(api: Customer) -> dict[str, Any]:
    """The New York class of the next Sunday or the one after (real time)."""
    today = datetime.now(ZoneInfo("America/New_York")).date()
    params = {
        "from": (today + timedelta(days=1)).isoformat(),
        "till": (today + timedelta(days=15)).isoformat(),
    }
    response = await api.get(f"/activity/{NEW_YORK}/search", params=params)
    assert response.status_code == 200, response.text
    found = response.json()["data"]
    assert found, response.text
    assert found[0]["capacity"] == CAPACITY
    return dict(found[0])


def body(n: int) -> dict[str, Any]:
    return {
        "fullname": f"Customer {n}",
        "phone": f"+1212555{n:04d}",
        "email": f"c{n}@example.org",
        "clients_count": 1,
    }


async def seats_taken(session: AsyncSession) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Record.clients_count), 0)).where(
            Record.status == RECORD_ACTIVE, Record.activity_id.is_not(None)
        )
    )
    return int(total or 0)


def assert_exactly_full(answers: list[Any]) -> None:
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == CAPACITY, [answer.text for answer in answers]
    assert statuses.count(422) == len(answers) - CAPACITY, statuses
    for answer in answers:
        if answer.status_code == 422:
            error(answer, 422, 441)


async def test_in_one_process(customer: Customer, run_in_session: Any) -> None:
    session = await next_class(customer)
    path = f"/activity/{NEW_YORK}/{session['id']}/book"
    answers = await asyncio.gather(*(customer.post(path, body(n)) for n in range(CAPACITY + 10)))
    assert_exactly_full(list(answers))
    assert await run_in_session(seats_taken) == CAPACITY
    assert (await next_class(customer))["records_count"] == CAPACITY


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_through_two_workers(server: Server, run_in_session: Any) -> None:
    session = await next_class(server.api)
    path = f"/activity/{NEW_YORK}/{session['id']}/book"
    answers = await asyncio.gather(*(server.api.post(path, body(n)) for n in range(CAPACITY + 10)))
    assert_exactly_full(list(answers))
    assert await run_in_session(seats_taken) == CAPACITY
    assert "Traceback" not in server.output()
