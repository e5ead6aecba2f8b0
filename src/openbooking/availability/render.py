"""Availability objects on the wire, typed per dialect (docs/api-compat.md)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from openbooking.availability.service import slot_view
from openbooking.kit.envelope import Dialect
from openbooking.reviews.service import combined

if TYPE_CHECKING:
    from datetime import date

    from openbooking.availability.service import Availability, Member, Nearest, WeekdayGrid
    from openbooking.models import Location


def staff(
    availability: Availability,
    member: Member,
    found: Nearest | None,
    dialect: Dialect,
    *,
    show_position: bool,
    reviewed: tuple[int, int, int] | None = None,
) -> dict[str, Any]:
    """A member; `reviewed`: what reviews add to the rating (`reviews.totals`)."""
    row, position = member.staff, member.position
    rating = combined(row.rating, row.votes_count, row.comments_count, reviewed)
    if position is not None:
        position_view: dict[str, Any] | list[Any] = {
            "id": position.id,
            "title": position.title,
            "services_binding_type": 0,
        }
    else:
        position_view = (
            [] if dialect is Dialect.ALTEGIO else {"id": 0, "title": "", "services_binding_type": 0}
        )
    specialization = position.title if show_position and position else row.specialization
    data: dict[str, Any] = {
        "id": row.id,
        "api_id": row.api_id or None,
        "user_id": None,
        "name": row.name,
        "bookable": found is not None,
        "specialization": specialization,
        "position": position_view,
        "position_id": position.id if position else 0,
        "show_rating": int(row.show_rating),
        "rating": rating.rating,
        "votes_count": rating.votes_count,
        "comments_count": rating.comments_count,
        "avatar": row.avatar,
        "avatar_big": row.avatar_big,
        "weight": str(row.weight) if dialect is Dialect.YCLIENTS else row.weight,
        "information": row.information,
        "schedule_till": availability.last_day().isoformat(),
        "seances": [],
        "has_access_timetable": False,
        "image_group": [],
        "fired": 0,
        "status": 0,
        "hidden": 0,
        "user": None,
        "prepaid": "forbidden",
    }
    if found is not None:
        day, starts = found
        length = availability.length(member)
        data["seance_date"] = day.isoformat()
        data["seances"] = [slot_view(start, length, availability.rules) for start in starts]
    return data


def dates(working: list[date], bookable: list[date], dialect: Dialect) -> dict[str, Any]:
    def by_month(days: list[date]) -> dict[str, list[int] | list[str]]:
        months: dict[str, list[int]] = defaultdict(list)
        for day in days:
            months[str(day.month)].append(day.day)
        if dialect is Dialect.YCLIENTS:
            return {month: [str(d) for d in numbers] for month, numbers in months.items()}
        return dict(months)

    return {
        "booking_days": by_month(bookable),
        "booking_dates": [day.isoformat() for day in bookable],
        "working_days": by_month(working),
        "working_dates": [day.isoformat() for day in working],
    }


def timeslots(location: Location, grid: list[WeekdayGrid]) -> dict[str, Any]:
    """`/company/{id}/settings/timeslots` (YCLIENTS `api.location.settings.timeslots.read`): the
    fixed grid `book_times` offers, per weekday; no dated overrides."""
    step = location.slot_step_seconds or 900
    return {
        "is_enabled": True,
        "weekdays_settings": [
            {
                "weekday": day.weekday,
                "timeslots": day.starts,
                "setting": {
                    "grid_first_timeslot": day.starts[0] if day.starts else 0,
                    "grid_last_timeslot": day.starts[-1] if day.starts else 0,
                    "grid_display_step": step,
                    "grid_nearest_timeslot_delay": location.min_notice_seconds,
                    "grid_base_type": "predefined",
                    "is_grid_flexible": False,
                },
            }
            for day in grid
        ],
        "dates_settings": [],
    }
