"""Sessions as the event search shows them (YCLIENTS `activity/search`, spec §F1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openbooking.kit.clock import zone

if TYPE_CHECKING:
    from openbooking.activities.service import Facet, Listed
    from openbooking.models import Location


def activity(listed: Listed, location: Location) -> dict[str, Any]:
    found = listed.found
    row, event, service, staff = found.session, found.event, found.service, found.staff
    start = row.starts_at.astimezone(zone(location.timezone))
    position = found.position
    return {
        "id": row.id,
        "service_id": service.id,
        "company_id": location.id,
        "salon_id": location.id,
        "staff_id": row.staff_id,
        "date": start.isoformat(),
        "timestamp": int(row.starts_at.timestamp()),
        "length": int((row.ends_at - row.starts_at).total_seconds()),
        "capacity": row.capacity,
        "records_count": listed.seats_taken,
        "color": event.color,
        "font_color": event.font_color,
        "instructions": event.instructions,
        "stream_link": event.stream_link,
        "notified": False,
        "prepaid": service.prepaid,
        "service": {
            "id": service.id,
            "category_id": found.category.id,
            "title": service.title,
            "price_min": event.price_min,
            "price_max": event.price_max,
            "comment": service.comment,
            "image_url": service.image,
            "salon_service_id": service.id,
            "prepaid": service.prepaid,
            "category": {"id": found.category.id, "category_id": 0, "title": found.category.title},
        },
        "staff": {
            "id": staff.id,
            "api_id": staff.api_id,
            "name": staff.name,
            "company_id": location.id,
            "specialization": staff.specialization,
            "rating": staff.rating,
            "show_rating": int(staff.show_rating),
            "avatar": staff.avatar,
            "avatar_big": staff.avatar_big,
            "comments_count": staff.comments_count,
            "votes_count": staff.votes_count,
            "average_score": staff.rating,
            "prepaid": "forbidden",
            "position": {"id": position.id, "title": position.title}
            if position
            else {"id": 0, "title": ""},
        },
        "resource_instances": [
            {"id": resource.id, "title": resource.title, "resource_id": resource.id}
            for resource in listed.resources
        ],
        "labels": [
            {"id": index, "title": title, "color": event.color}
            for index, title in enumerate(event.labels, start=1)
        ],
    }


def facet(item: Facet) -> dict[str, Any]:
    return {
        "code": item.code,
        "title": item.title,
        "data": [
            {"id": entity_id, "title": title, "is_disabled": count == 0, "count": count}
            for entity_id, title, count in item.items
        ],
    }
