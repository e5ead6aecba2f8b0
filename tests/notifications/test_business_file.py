"""The business file's `notifications` section and team members' `email`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from openbooking.business import document, loader
from openbooking.business.document import BusinessFileError
from openbooking.models import Location, Staff
from tests.business.test_loader import minimal

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


def with_notifications(**section: Any) -> dict[str, Any]:
    data = minimal()
    data["locations"][0]["notifications"] = section
    data["locations"][0]["staff"][0]["email"] = "ola@example.org"
    return data


async def test_loaded_into_the_location_and_member(run_in_session: Any) -> None:
    data = with_notifications(
        email_reminders=False,
        calendar_phones=True,
        webhooks=[
            {"url": "https://hooks.example.org/a"},
            {"url": "https://hooks.example.org/b", "events": ["record.cancelled"]},
        ],
    )

    async def work(session: AsyncSession) -> tuple[Location | None, Staff | None]:
        await loader.load(session, data)
        return await session.get(Location, 5001), await session.get(Staff, 601)

    location, staff = await run_in_session(work)
    assert location is not None
    assert staff is not None
    assert (location.email_confirmation, location.email_reminders) == (True, False)
    assert location.calendar_phones is True
    assert location.webhooks == [
        {
            "url": "https://hooks.example.org/a",
            "events": ["record.created", "record.changed", "record.cancelled", "event.booked"],
            "secret_version": 1,
        },
        {"url": "https://hooks.example.org/b", "events": ["record.cancelled"], "secret_version": 1},
    ]
    assert staff.email == "ola@example.org"


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"webhooks": [{"url": "ftp://example.org/x"}]}, "url"),
        ({"webhooks": [{"url": "https://a.example/x"}] * 2}, "once"),
        ({"webhooks": [{"url": "https://a.example/x", "events": ["record.deleted"]}]}, "events"),
        ({"webhooks": [{"url": "https://a.example/x", "secret_version": 0}]}, "secret_version"),
        ({"calendar_phones": "yes"}, "calendar_phones"),
    ],
)
def test_mistakes_are_refused(section: dict[str, Any], words: str) -> None:
    with pytest.raises(BusinessFileError) as caught:
        document.check(with_notifications(**section))
    assert words in f"{caught.value.path} {caught.value}"
