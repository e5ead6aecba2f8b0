"""Local times in notices across a daylight-saving change (New York, 8 March 2026)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from openbooking.models import Location, Record
from openbooking.notifications import mail, render


def new_york() -> Location:
    return Location(id=1002, title="SoHo", timezone="America/New_York", language="en-US", phones=[])


def visit(start: datetime) -> Record:
    return Record(
        id=7,
        location_id=1002,
        staff_id=204,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        status="active",
        client_name="Grace",
        client_phone="+12125550123",
        client_email="grace@example.org",
        comment="",
        api_id="",
        custom_fields={},
        online=True,
        sequence=0,
    )


def test_the_same_utc_hour_is_an_hour_later_locally_after_the_clocks_go_forward() -> None:
    before = visit(datetime(2026, 3, 7, 15, 0, tzinfo=UTC))
    after = visit(datetime(2026, 3, 9, 15, 0, tzinfo=UTC))
    assert mail.when(before, new_york()) == "2026-03-07 at 10:00"
    assert mail.when(after, new_york()) == "2026-03-09 at 11:00"
    payload = render.record_payload(after, new_york(), None, [])
    assert payload["datetime"] == "2026-03-09T11:00:00-04:00"
    assert payload["starts_at"] == "2026-03-09T15:00:00Z"


def test_calendar_times_are_utc_whatever_the_zone() -> None:
    record = visit(datetime(2026, 3, 8, 7, 30, tzinfo=UTC))  # 03:30 EDT, just after the change
    stamp = datetime(2026, 3, 1, tzinfo=UTC)
    body = render.calendar("x", [render.event(record, new_york(), "Cut", "", stamp)])
    assert b"DTSTART:20260308T073000Z" in body
    (event,) = Calendar.from_ical(body).walk("VEVENT")
    assert event.decoded("dtend") == datetime(2026, 3, 8, 8, 30, tzinfo=UTC)
