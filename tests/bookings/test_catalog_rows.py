"""A booking reads its location, services and members from the process's cache while the
catalog version is unchanged: a change to them, made by whoever, counts from the very next
booking."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from openbooking.catalog.cache import Rows
from openbooking.models import Location, OutboxMessage
from tests.availability.test_catalog_cache import admin
from tests.bookings.helpers import CAMILLE, error, ny_booking, ny_service, slots
from tests.verification.conftest import NEW_YORK, Customer

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["admin"]

pytestmark = pytest.mark.usefixtures("clock")

BOOK = f"/book_record/{NEW_YORK}"


async def test_a_service_taken_off_the_menu(customer: Customer, admin: Any) -> None:
    service = await ny_service(customer)
    first, *_, second = await slots(customer, NEW_YORK, CAMILLE, service)
    booked = await customer.post(BOOK, ny_booking(service, first))
    assert booked.status_code == 201, booked.text
    await admin(f"UPDATE services SET active = false WHERE id = {service}")
    error(await customer.post(BOOK, ny_booking(service, second)), 422, 438)


async def test_a_service_put_back_on_the_menu(customer: Customer, admin: Any) -> None:
    """The rows the first booking kept lack the service: the next booking reads them again."""
    listed = await customer.get(f"/book_services/{NEW_YORK}", params={"staff_id": CAMILLE})
    first_service, other, *_ = (item["id"] for item in listed.json()["data"]["services"])
    await admin(f"UPDATE services SET active = false WHERE id = {other}")
    first, *_ = await slots(customer, NEW_YORK, CAMILLE, first_service)
    assert (await customer.post(BOOK, ny_booking(first_service, first))).status_code == 201
    await admin(f"UPDATE services SET active = true WHERE id = {other}")
    *_, last = await slots(customer, NEW_YORK, CAMILLE, other)
    booked = await customer.post(BOOK, ny_booking(other, last))
    assert booked.status_code == 201, booked.text


async def test_a_phone_put_on_the_blacklist(customer: Customer, admin: Any) -> None:
    service = await ny_service(customer)
    first, *_, second = await slots(customer, NEW_YORK, CAMILLE, service)
    body = ny_booking(service, first)
    assert (await customer.post(BOOK, body)).status_code == 201
    await admin(
        f"UPDATE locations SET phone_blacklist = '[\"{body['phone']}\"]' WHERE id = {NEW_YORK}"
    )
    error(await customer.post(BOOK, ny_booking(service, second)), 403, 434)


async def test_a_location_that_starts_confirming_phones(customer: Customer, admin: Any) -> None:
    """The rows the first booking kept say no code is needed: the next booking still asks."""
    service = await ny_service(customer)
    first, *_, second = await slots(customer, NEW_YORK, CAMILLE, service)
    assert (await customer.post(BOOK, ny_booking(service, first))).status_code == 201
    await admin(f"UPDATE locations SET phone_confirmation = true WHERE id = {NEW_YORK}")
    error(await customer.post(BOOK, ny_booking(service, second)), 422, 432)


async def test_a_location_that_moves_to_another_time_zone(customer: Customer, admin: Any) -> None:
    """A time without an offset is read in the location's zone as it is now."""
    service = await ny_service(customer)
    first, *_ = await slots(customer, NEW_YORK, CAMILLE, service)
    assert (await customer.post(BOOK, ny_booking(service, first))).status_code == 201
    await admin(f"UPDATE locations SET timezone = 'America/Chicago' WHERE id = {NEW_YORK}")
    *_, last = await slots(customer, NEW_YORK, CAMILLE, service)
    assert last.endswith("-06:00")
    booked = await customer.post(BOOK, ny_booking(service, last[:19]))  # without the offset
    assert booked.status_code == 201, booked.text
    (made,) = booked.json()["data"]
    shown = await customer.get(f"/book_record/{NEW_YORK}/{made['record_id']}/{made['record_hash']}")
    assert shown.json()["data"]["datetime"] == last[:19] + "-0600"  # the record's own format


async def test_a_members_new_address_gets_the_notice(
    customer: Customer, admin: Any, run_in_session: Any
) -> None:
    """The member's copy of a booking's e-mail goes to the address they have now."""
    service = await ny_service(customer)
    first, *_, second = await slots(customer, NEW_YORK, CAMILLE, service)
    await admin(f"UPDATE staff SET email = 'camille@old.example' WHERE id = {CAMILLE}")
    assert (await customer.post(BOOK, ny_booking(service, first))).status_code == 201
    await admin(f"UPDATE staff SET email = 'camille@new.example' WHERE id = {CAMILLE}")
    assert (await customer.post(BOOK, ny_booking(service, second))).status_code == 201

    async def targets(session: AsyncSession) -> list[str]:
        found = await session.scalars(
            select(OutboxMessage.target)
            .where(OutboxMessage.target.like("camille@%"))
            .order_by(OutboxMessage.id)
        )
        return list(found)

    assert await run_in_session(targets) == ["camille@old.example", "camille@new.example"]


def test_each_copy_has_its_own_json_values() -> None:
    """A request that changes its copy's lists and dicts, empty or not, changes nobody else's."""
    hook = {"url": "https://example.com/hook"}
    location = Location(id=1, phones=[], sms_countries=["DE"], webhooks=[hook])
    rows = Rows(1, location, [], [])
    first = rows.location()
    first.phones.append("+4915112345678")
    first.sms_countries.append("FR")
    first.webhooks[0]["url"] = "https://example.org/elsewhere"
    second = rows.location()
    assert (second.phones, second.sms_countries, second.webhooks) == ([], ["DE"], [hook])
    assert hook == {"url": "https://example.com/hook"}
    assert second.id == 1
    assert (location.phones, location.sms_countries) == ([], ["DE"])
