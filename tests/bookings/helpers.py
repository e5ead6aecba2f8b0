"""What the booking tests share: the demo's New York member, slots from book_times, request
bodies, the error-body check, a logged-in customer and the no-overlap invariant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select, text
from sqlalchemy.orm import aliased

from openbooking.models import Record
from openbooking.models.records import RECORD_ACTIVE
from tests.verification.conftest import BERLIN, NEW_YORK, PHONE, Customer, code_in

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # Tuesday
DAY = "2026-12-03"  # Thursday
NY_PHONE = "+12125550123"
CAMILLE = 204  # New York: Tue-Sat


async def slots(
    customer: Customer, location: int, staff: int, service: int, day: str = DAY
) -> list[str]:
    response = await customer.get(
        f"/book_times/{location}/{staff}/{day}", params={"service_ids": service}
    )
    assert response.status_code == 200, response.text
    return [slot["datetime"] for slot in response.json()["data"]]


async def ny_service(customer: Customer) -> int:
    data = (await customer.get(f"/book_services/{NEW_YORK}", params={"staff_id": CAMILLE})).json()[
        "data"
    ]
    return int(data["services"][0]["id"])


def ny_booking(service: int, when: str, staff: int = CAMILLE, **extra: Any) -> dict[str, Any]:
    return {
        "phone": NY_PHONE,
        "fullname": "Grace Hopper",
        "email": "grace@example.org",
        "appointments": [{"id": 1, "services": [service], "staff_id": staff, "datetime": when}],
        **extra,
    }


def error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    (item,) = body["meta"]["errors"]
    assert item["code"] == code
    assert body["errors"]["code"] == code, "the legacy reader's `errors` object"
    assert body["errors"]["message"] == item["message"] == body["meta"]["message"]
    return dict(item)


async def user_token(customer: Customer, outbox: Any, phone: str = PHONE) -> str:
    """Log in with an SMS code (sent through Berlin, the location that sends codes)."""
    sent = await customer.post(f"/book_code/{BERLIN}", {"phone": phone})
    assert sent.status_code == 201, sent.text
    login = await customer.post("/user/auth", {"phone": phone, "code": code_in(outbox(phone)[-1])})
    assert login.status_code == 201, login.text
    return str(login.json()["data"]["user_token"])


async def overlapping_pairs(session: AsyncSession) -> list[tuple[int, int]]:
    """The invariant behind every race test: pairs of active records of one member that
    overlap in time (a self-join in SQL, so it sees exactly what is stored)."""
    a, b = aliased(Record), aliased(Record)
    rows = await session.execute(
        select(a.id, b.id)
        .join(
            b,
            and_(
                a.staff_id == b.staff_id,
                a.id < b.id,
                a.starts_at < b.ends_at,
                b.starts_at < a.ends_at,
            ),
        )
        .where(a.status == RECORD_ACTIVE, b.status == RECORD_ACTIVE)
    )
    return [(first, second) for first, second in rows]


async def record_count(session: AsyncSession) -> int:
    """How many records are stored, whatever their state."""
    return int(await session.scalar(select(func.count()).select_from(Record)) or 0)


async def lock_waiters(app: FastAPI, event: str | None = None) -> int:
    """PostgreSQL backends of this database waiting for a lock (of the `event` kind, such as
    "advisory", when given), in a new snapshot on every call."""
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND (CAST(:event AS text) IS NULL OR wait_event = :event)"
    )
    async with app.state.engine.connect() as connection:
        waiting: int = (await connection.execute(text(query), {"event": event})).scalar_one()
        return waiting
