"""A record as `GET /book_record` and `GET /user/records` show it (spec §4.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openbooking.kit.clock import utc_offset_hours, zone
from openbooking.kit.envelope import Dialect
from openbooking.models.records import RECORD_ACTIVE

if TYPE_CHECKING:
    from datetime import datetime

    from openbooking.models import Location, Position, Record, RecordService, Service, Staff
    from openbooking.reviews.service import Rating


def _stamp(moment: datetime, location: Location) -> str:
    """`2026-10-24T17:30:00-0500`: the offset without a colon, as both vendors write it."""
    return moment.astimezone(zone(location.timezone)).strftime("%Y-%m-%dT%H:%M:%S%z")


def record(
    row: Record,
    location: Location,
    staff: Staff,
    position: Position | None,
    services: list[tuple[RecordService, Service]],
    *,
    dialect: Dialect,
    rating: Rating | None = None,
) -> dict[str, Any]:
    """The record; `rating`: the member's, reviews included (default: the business file's)."""
    local = row.starts_at.astimezone(zone(location.timezone))
    hours = utc_offset_hours(location.timezone, row.starts_at)
    return {
        "id": row.id,
        "services": [
            {
                "id": service.id,
                "title": service.title,
                "cost": link.cost,
                "price_min": service.price_min,
                "price_max": service.price_max,
                "discount": service.discount,
                "amount": 1,
                "seance_length": link.duration_seconds,
            }
            for link, service in services
        ],
        "company": {
            "id": location.id,
            "title": location.title,
            "country_id": 0,
            "country": location.country,
            "city_id": 0,
            "city": location.city,
            "phone": location.phones[0] if location.phones else "",
            "phones": list(location.phones),
            "timezone": str(int(hours) if hours.is_integer() else hours),
            "address": location.address,
            "coordinate_lat": location.coordinate_lat,
            "coordinate_lon": location.coordinate_lon,
            "allow_delete_record": location.allow_delete_record,
            "allow_change_record": location.allow_change_record,
            "site": location.site,
            "currency_short_title": location.currency,
            "allow_change_record_delay_step": location.allow_change_record_delay_step,
            "allow_delete_record_delay_step": location.allow_delete_record_delay_step,
        },
        "staff": {
            "id": staff.id,
            "name": staff.name,
            "specialization": staff.specialization,
            "position": {"id": position.id, "title": position.title}
            if position
            else {"id": 0, "title": ""},
            "show_rating": staff.show_rating
            if dialect is Dialect.YCLIENTS
            else int(staff.show_rating),
            "rating": rating.rating if rating else staff.rating,
            "votes_count": rating.votes_count if rating else staff.votes_count,
            "comments_count": rating.comments_count if rating else staff.comments_count,
            "avatar": staff.avatar,
        },
        "clients_count": row.clients_count,
        "date": local.strftime("%Y-%m-%d %H:%M:%S"),
        "datetime": _stamp(row.starts_at, location),
        "create_date": _stamp(row.created_at, location),
        "last_change_date": _stamp(row.updated_at, location),
        "comment": row.comment,
        "deleted": row.status != RECORD_ACTIVE,
        "attendance": row.attendance,
        "visit_attendance": row.attendance,
        "length": int((row.ends_at - row.starts_at).total_seconds()),
        "notify_by_sms": row.notify_by_sms,
        "notify_by_email": row.notify_by_email,
        "master_requested": row.master_requested,
        "online": row.online,
        "api_id": row.api_id,
        "prepaid": False,
        "prepaid_confirmed": False,
        "activity_id": row.activity_id or 0,
        "custom_fields": row.custom_fields,
    }
