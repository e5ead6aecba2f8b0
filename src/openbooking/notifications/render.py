"""What a notice says about a record: the webhook payload, and an iCalendar event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from icalendar import Calendar, Event

from openbooking import __version__
from openbooking.kit.clock import zone
from openbooking.models.records import RECORD_CANCELLED

if TYPE_CHECKING:
    from collections.abc import Iterable

    from openbooking.models import Location, Record, RecordService, Service, Staff

PRODID = f"-//OpenBooking//OpenBooking {__version__}//EN"
UID_DOMAIN = "openbooking"


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local(moment: datetime, location: Location) -> str:
    return moment.astimezone(zone(location.timezone)).isoformat()


def record_payload(
    record: Record,
    location: Location,
    staff: Staff | None,
    services: Iterable[tuple[RecordService, Service]],
) -> dict[str, Any]:
    """A record as webhooks carry it (docs/business-api.md#webhooks)."""
    return {
        "id": record.id,
        "location_id": record.location_id,
        "status": record.status,
        "sequence": record.sequence,
        "datetime": local(record.starts_at, location),
        "starts_at": utc(record.starts_at),
        "ends_at": utc(record.ends_at),
        "seance_length": int((record.ends_at - record.starts_at).total_seconds()),
        "timezone": location.timezone,
        "staff": {"id": record.staff_id, "name": staff.name if staff else ""},
        "services": [
            {"id": service.id, "title": service.title, "cost": link.cost}
            for link, service in services
        ],
        "client": {
            "name": record.client_name,
            "phone": record.client_phone,
            "email": record.client_email,
        },
        "comment": record.comment,
        "api_id": record.api_id,
        "custom_fields": record.custom_fields,
        "online": record.online,
        "activity_id": record.activity_id,
        "clients_count": record.clients_count,
    }


def uid(record_id: int) -> str:
    """Stable for the life of a record: calendars match updates to it."""
    return f"record-{record_id}@{UID_DOMAIN}"


def event(
    record: Record,
    location: Location,
    summary: str,
    description: str,
    stamp: datetime,
) -> Event:
    """One VEVENT in UTC times; a cancelled record is STATUS:CANCELLED."""
    item = Event()
    item.add("uid", uid(record.id))
    item.add("dtstamp", stamp.astimezone(UTC))
    item.add("dtstart", record.starts_at.astimezone(UTC))
    item.add("dtend", record.ends_at.astimezone(UTC))
    item.add("sequence", record.sequence)
    item.add("summary", summary)
    if description:
        item.add("description", description)
    where = ", ".join(part for part in (location.title, location.address, location.city) if part)
    item.add("location", where)
    item.add("status", "CANCELLED" if record.status == RECORD_CANCELLED else "CONFIRMED")
    item.add("transp", "OPAQUE")
    return item


def calendar(name: str, events: Iterable[Event], *, method: str | None = None) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    cal.add("x-wr-calname", name)
    for item in events:
        cal.add_component(item)
    return bytes(cal.to_ical())
