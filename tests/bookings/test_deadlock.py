"""A booking that PostgreSQL aborts as a deadlock between two conflicting inserts answers 433.

PostgreSQL checks an exclusion constraint after inserting the index entry, so two transactions
that insert overlapping records can each wait for the other; the deadlock detector then aborts
one of them (SQLSTATE 40P01) instead of raising the constraint violation. Found by
`bench.booking` with two workers, where it surfaced as a 500.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from openbooking.kit.db import create_sessionmaker
from openbooking.models import Record
from tests.bookings.helpers import CAMILLE, NY_PHONE, error, lock_waiters, slots
from tests.verification.conftest import NEW_YORK, Customer

if TYPE_CHECKING:
    from fastapi import FastAPI

PRIYA = 205  # New York, works on DAY too
HAIRCUT, EXPRESS_FACIAL = 109, 113  # Camille's 45 min, Priya's 30 min


pytestmark = pytest.mark.usefixtures("clock")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_deadlock_between_two_bookings_is_433(app: FastAPI, customer: Customer) -> None:
    camille = datetime.fromisoformat((await slots(customer, NEW_YORK, CAMILLE, HAIRCUT))[0])
    priya = datetime.fromisoformat((await slots(customer, NEW_YORK, PRIYA, EXPRESS_FACIAL))[0])
    body: dict[str, Any] = {
        "phone": NY_PHONE,
        "fullname": "Grace Hopper",
        "email": "grace@example.org",
        "appointments": [
            {"id": 1, "services": [HAIRCUT], "staff_id": CAMILLE, "datetime": camille.isoformat()},
            {
                "id": 2,
                "services": [EXPRESS_FACIAL],
                "staff_id": PRIYA,
                "datetime": priya.isoformat(),
            },
        ],
    }

    def rival_record(staff_id: int, start: datetime, minutes: int) -> Record:
        return Record(
            location_id=NEW_YORK,
            staff_id=staff_id,
            starts_at=start.astimezone(UTC),
            ends_at=start.astimezone(UTC) + timedelta(minutes=minutes),
            hash_digest="rival",
        )

    async with create_sessionmaker(app.state.engine)() as rival:
        # The rival takes Priya's slot first and does not commit: the booking cannot see it.
        rival.add(rival_record(PRIYA, priya, 30))
        await rival.flush()
        booking = asyncio.create_task(customer.post(f"/book_record/{NEW_YORK}", body))
        # The booking inserts Camille's visit, then waits for the rival on Priya's.
        for _ in range(500):
            if await lock_waiters(app) or booking.done():
                break
            await asyncio.sleep(0.01)
        assert not booking.done(), booking.result().text
        # Half of PostgreSQL's deadlock_timeout (1 s) later, so that on a busy machine too the
        # booking's deadlock check comes well before the rival's.
        await asyncio.sleep(0.5)
        # Now the rival wants Camille's slot: each waits for the other. The booking waited
        # first, so its deadlock check (deadlock_timeout after it began waiting) finds the
        # cycle and PostgreSQL aborts it; the rival's insert then goes through.
        rival.add(rival_record(CAMILLE, camille, 45))
        await rival.flush()
        response = await booking
        await rival.rollback()

    error(response, 422, 433)
    async with create_sessionmaker(app.state.engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Record)) == 0
