"""A booking is planned from a read before the writer's turn (SQLite's one writer), then
written in a short transaction. These tests put a rival booking exactly between the two, the
window that concurrent requests hit only now and then, and check that the answer is the one a
booking made wholly under the turn gives (SQLite), or the database's refusal (PostgreSQL), and
that no two records overlap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from openbooking.bookings import service as bookings
from tests.bookings.helpers import (
    CAMILLE,
    error,
    ny_booking,
    ny_service,
    overlapping_pairs,
    record_count,
    slots,
)
from tests.verification.conftest import NEW_YORK, Customer

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

RIVAL_PHONE = "+12125550199"


def rival_between_plan_and_write(
    monkeypatch: pytest.MonkeyPatch, customer: Customer, service: int, when: str
) -> list[int]:
    """After the first plan, a rival (another phone) books the planned member at `when` and is
    committed before the planning booking gets its turn. The member taken is appended."""
    taken: list[int] = []
    plan = bookings.plan

    async def plan_then_rival(
        session: AsyncSession, location: Any, appointments: Any, **options: Any
    ) -> Any:
        planned = await plan(session, location, appointments, **options)
        if not taken:
            taken.append(planned[0].staff_id)
            body = {**ny_booking(service, when, staff=planned[0].staff_id), "phone": RIVAL_PHONE}
            rival = await customer.post(f"/book_record/{NEW_YORK}", body)
            assert rival.status_code == 201, rival.text
        return planned

    monkeypatch.setattr(bookings, "plan", plan_then_rival)
    return taken


@pytest.mark.usefixtures("demo", "clock")
class TestTakenBetweenPlanAndWrite:
    async def test_the_member_taken_meanwhile_is_433(
        self,
        customer: Customer,
        monkeypatch: pytest.MonkeyPatch,
        run_in_session: Any,
    ) -> None:
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, CAMILLE, service))[3]
        taken = rival_between_plan_and_write(monkeypatch, customer, service, when)

        answer = await customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, when))

        assert taken == [CAMILLE]
        error(answer, 422, 433)
        assert await run_in_session(record_count) == 1  # the rival's
        assert await run_in_session(overlapping_pairs) == []

    async def test_any_member_is_planned_again_under_the_turn(
        self,
        customer: Customer,
        monkeypatch: pytest.MonkeyPatch,
        run_in_session: Any,
        database_url: str,
    ) -> None:
        """With "any member" (staff 0), SQLite plans again under the turn and answers as a
        booking made wholly under it would: nobody else does the service then (436).
        PostgreSQL plans without a lock, as it always did, and its exclusion constraint
        refuses the insert (433)."""
        service = await ny_service(customer)  # only Camille does it
        when = (await slots(customer, NEW_YORK, 0, service))[2]
        taken = rival_between_plan_and_write(monkeypatch, customer, service, when)

        answer = await customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, when, staff=0))

        assert taken == [CAMILLE]
        error(answer, 422, 436 if database_url.startswith("sqlite") else 433)
        assert await run_in_session(record_count) == 1
        assert await run_in_session(overlapping_pairs) == []
