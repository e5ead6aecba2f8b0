"""Load a checked business file into the database, in one transaction.

Upserts by the file's ids, so reloading an unchanged file changes nothing and an edited file
updates in place. Entities that vanished from the file are soft-deleted; schedules and
member-service links become exactly what the file says.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import delete, select, update

from openbooking.business.document import (
    DEFAULT_STEPS,
    GENDERS,
    WEEKDAYS,
    BusinessFileError,
    parse_day,
    seconds,
)
from openbooking.models import (
    Base,
    Bookform,
    Chain,
    DayOff,
    Location,
    Position,
    ScheduleInterval,
    Service,
    ServiceCategory,
    Staff,
    StaffService,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

Row = TypeVar("Row", bound=Base)


async def load(session: AsyncSession, data: dict[str, Any]) -> None:
    """Apply a document from `document.read`. The caller commits (or rolls back)."""
    chain = data.get("chain")
    chain_id = chain["id"] if chain else None
    if chain is not None:
        await _upsert(session, Chain, chain["id"], "chain", {"title": chain["title"]}, owner=None)
    location_ids = []
    for index, location in enumerate(data["locations"]):
        location_ids.append(location["id"])
        await _load_location(session, location, chain_id, f"locations[{index}]")
    if chain_id is not None:
        await _soft_delete_missing(session, Location, Location.chain_id == chain_id, location_ids)
        forms = data.get("bookforms", [])
        for index, form in enumerate(forms):
            fields = _bookform_fields(form, "en-US", chain_id=chain_id, location_id=None)
            await _upsert(
                session,
                Bookform,
                form["id"],
                f"bookforms[{index}]",
                fields,
                owner=("chain_id", chain_id),
            )
        await _soft_delete_missing(
            session, Bookform, Bookform.chain_id == chain_id, [form["id"] for form in forms]
        )
    await session.flush()


async def _upsert(
    session: AsyncSession,
    model: type[Row],
    entity_id: int,
    path: str,
    fields: dict[str, Any],
    *,
    owner: tuple[str, int | None] | None,
) -> Row:
    """Insert or update `model(id=entity_id)`; refuse ids that belong to another owner."""
    row = await session.get(model, entity_id)
    if row is None:
        row = model(id=entity_id, **fields)
        session.add(row)
        return row
    if owner is not None and getattr(row, owner[0]) != owner[1]:
        raise BusinessFileError(
            f"{path}.id",
            f"id {entity_id} already belongs to another {owner[0].removesuffix('_id')} "
            f"({getattr(row, owner[0])})",
        )
    for name, value in {**fields, "deleted": False}.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
    return row


async def _soft_delete_missing(
    session: AsyncSession, model: Any, scope: Any, keep: list[int]
) -> None:
    await session.execute(
        update(model)
        .where(scope, model.id.not_in(keep), model.deleted.is_(False))
        .values(deleted=True)
    )


async def _load_location(
    session: AsyncSession, location: dict[str, Any], chain_id: int | None, path: str
) -> None:
    location_id = location["id"]
    booking = location.get("booking", {})
    coordinates = location.get("coordinates", {})
    fields = {
        "chain_id": chain_id,
        "title": location["title"],
        "short_descr": location.get("short_descr", ""),
        "description": location.get("description", ""),
        "logo": location.get("logo", ""),
        "address": location.get("address", ""),
        "city": location.get("city", ""),
        "country": location.get("country", ""),
        "country_code": location.get("country_code", ""),
        "zip": location.get("zip", ""),
        "phones": location.get("phones", []),
        "site": location.get("site", ""),
        "email": location.get("email", ""),
        "coordinate_lat": float(coordinates.get("lat", 0.0)),
        "coordinate_lon": float(coordinates.get("lon", 0.0)),
        "timezone": location["timezone"],
        "currency": location.get("currency", "USD"),
        "language": location.get("language", "en-US"),
        "group_priority": location.get("group_priority", 0),
        "active": location.get("active", True),
        "privacy_policy": location.get("privacy_policy", ""),
        "phone_confirmation": booking.get("phone_confirmation", False),
        "booking_comment_required": booking.get("comment_required", False),
        "booking_email_required": booking.get("email_required", False),
        "booking_comment_input_name": booking.get("comment_input_name", ""),
        "booking_notify_text": booking.get("notify_text", ""),
        "allow_delete_record": booking.get("allow_delete_record", True),
        "allow_delete_record_delay_step": seconds(booking.get("allow_delete_record_delay_step", 0)),
        "allow_change_record": booking.get("allow_change_record", True),
        "allow_change_record_delay_step": seconds(booking.get("allow_change_record_delay_step", 0)),
        "min_notice_seconds": seconds(booking.get("min_notice", 0)),
        "horizon_days": booking.get("horizon_days", 60),
        "slot_step_seconds": seconds(booking.get("slot_step", 900)) or 900,
        "phone_blacklist": booking.get("phone_blacklist", []),
        "sms_countries": booking.get("sms_countries", []),
        "sms_daily_budget": booking.get("sms_daily_budget"),
        "sms_confirmation": booking.get("sms_confirmation", True),
        "sms_cancellation": booking.get("sms_cancellation", True),
        "sms_reminders": booking.get("sms_reminders", True),
    }
    await _upsert(session, Location, location_id, path, fields, owner=("chain_id", chain_id))
    await session.flush()
    owner = ("location_id", location_id)
    scope_of = {
        model: model.location_id == location_id
        for model in (ServiceCategory, Service, Position, Staff)
    }

    categories = location.get("categories", [])
    for index, item in enumerate(categories):
        await _upsert(
            session,
            ServiceCategory,
            item["id"],
            f"{path}.categories[{index}]",
            {
                "location_id": location_id,
                "title": item["title"],
                "gender": GENDERS[item.get("gender", "any")],
                "api_id": item.get("api_id", ""),
                "weight": item.get("weight", 0),
            },
            owner=owner,
        )
    positions = location.get("positions", [])
    for index, item in enumerate(positions):
        await _upsert(
            session,
            Position,
            item["id"],
            f"{path}.positions[{index}]",
            {"location_id": location_id, "title": item["title"]},
            owner=owner,
        )
    await session.flush()
    services = location.get("services", [])
    for index, item in enumerate(services):
        price_min = float(item.get("price_min", 0))
        await _upsert(
            session,
            Service,
            item["id"],
            f"{path}.services[{index}]",
            {
                "location_id": location_id,
                "category_id": item["category"],
                "title": item["title"],
                "duration_seconds": seconds(item["duration"]),
                "price_min": price_min,
                "price_max": float(item.get("price_max", price_min)),
                "discount": float(item.get("discount", 0)),
                "prepaid": item.get("prepaid", "forbidden"),
                "gender": GENDERS[item.get("gender", "any")],
                "image": item.get("image", ""),
                "weight": item.get("weight", 0),
                "active": item.get("active", True),
                "api_id": item.get("api_id", ""),
                "comment": item.get("comment", ""),
            },
            owner=owner,
        )
    staff = location.get("staff", [])
    for index, item in enumerate(staff):
        await _upsert(
            session,
            Staff,
            item["id"],
            f"{path}.staff[{index}]",
            {
                "location_id": location_id,
                "position_id": item.get("position"),
                "name": item["name"],
                "specialization": item.get("specialization", ""),
                "avatar": item.get("avatar", ""),
                "avatar_big": item.get("avatar_big", ""),
                "rating": float(item.get("rating", 0)),
                "votes_count": item.get("votes_count", 0),
                "comments_count": item.get("comments_count", 0),
                "show_rating": item.get("show_rating", True),
                "weight": item.get("weight", 0),
                "bookable": item.get("bookable", True),
                "information": item.get("information", ""),
                "api_id": item.get("api_id", ""),
            },
            owner=owner,
        )
    await session.flush()
    for model, items in (
        (ServiceCategory, categories),
        (Service, services),
        (Position, positions),
        (Staff, staff),
    ):
        await _soft_delete_missing(session, model, scope_of[model], [item["id"] for item in items])
    for index, item in enumerate(staff):
        await _sync_staff_services(session, item)
        await _sync_schedule(session, item, f"{path}.staff[{index}]")

    forms = location.get("bookforms", [])
    for index, form in enumerate(forms):
        fields = _bookform_fields(
            form, location.get("language", "en-US"), chain_id=None, location_id=location_id
        )
        await _upsert(
            session, Bookform, form["id"], f"{path}.bookforms[{index}]", fields, owner=owner
        )
    await _soft_delete_missing(
        session, Bookform, Bookform.location_id == location_id, [form["id"] for form in forms]
    )


async def _sync_staff_services(session: AsyncSession, member: dict[str, Any]) -> None:
    wanted: dict[int, dict[str, Any]] = {}
    for link in member.get("services", []):
        if isinstance(link, int):
            wanted[link] = {"duration_seconds": None, "price_min": None, "price_max": None}
        else:
            duration = link.get("duration")
            price_min = link.get("price_min")
            price_max = link.get("price_max", price_min)
            wanted[link["service"]] = {
                "duration_seconds": None if duration is None else seconds(duration),
                "price_min": None if price_min is None else float(price_min),
                "price_max": None if price_max is None else float(price_max),
            }
    existing = {
        row.service_id: row
        for row in await session.scalars(
            select(StaffService).where(StaffService.staff_id == member["id"])
        )
    }
    for service_id, row in existing.items():
        if service_id not in wanted:
            await session.delete(row)
    for service_id, fields in wanted.items():
        link = existing.get(service_id)
        if link is None:
            session.add(StaffService(staff_id=member["id"], service_id=service_id, **fields))
            continue
        for name, value in fields.items():
            if getattr(link, name) != value:
                setattr(link, name, value)


_Interval = tuple[int | None, date | None, int, int, bool]


def _intervals(member: dict[str, Any], path: str) -> set[_Interval]:
    schedule = member.get("schedule", {})
    result: set[_Interval] = set()
    for weekday, name in enumerate(WEEKDAYS):
        if name in schedule.get("weekly", {}):
            day = parse_day(schedule["weekly"][name], f"{path}.schedule.weekly.{name}")
            result |= {(weekday, None, s, e, False) for s, e in day.hours}
            result |= {(weekday, None, s, e, True) for s, e in day.breaks}
    for index, exception in enumerate(schedule.get("exceptions", [])):
        on = date.fromisoformat(exception["date"])
        day = parse_day(exception["hours"], f"{path}.schedule.exceptions[{index}].hours")
        result |= {(None, on, s, e, False) for s, e in day.hours}
        result |= {(None, on, s, e, True) for s, e in day.breaks}
    return result


async def _sync_schedule(session: AsyncSession, member: dict[str, Any], path: str) -> None:
    staff_id = member["id"]
    wanted = _intervals(member, path)
    existing = {
        (row.weekday, row.date, row.start_second, row.end_second, row.is_break): row
        for row in await session.scalars(
            select(ScheduleInterval).where(ScheduleInterval.staff_id == staff_id)
        )
    }
    for key, row in existing.items():
        if key not in wanted:
            await session.delete(row)
    for weekday, on, start, end, is_break in wanted - existing.keys():
        session.add(
            ScheduleInterval(
                staff_id=staff_id,
                weekday=weekday,
                date=on,
                start_second=start,
                end_second=end,
                is_break=is_break,
            )
        )
    days_off = {date.fromisoformat(text) for text in member.get("schedule", {}).get("days_off", [])}
    current = set(
        (await session.scalars(select(DayOff.date).where(DayOff.staff_id == staff_id))).all()
    )
    if current - days_off:
        await session.execute(
            delete(DayOff).where(DayOff.staff_id == staff_id, DayOff.date.in_(current - days_off))
        )
    session.add_all(DayOff(staff_id=staff_id, date=d) for d in sorted(days_off - current))


def _bookform_fields(
    form: dict[str, Any], default_lang: str, *, chain_id: int | None, location_id: int | None
) -> dict[str, Any]:
    lang = form.get("lang", default_lang)
    steps = form.get("steps") or [{"step": name} for name in DEFAULT_STEPS]
    display = form.get("specialization_display", "specialization")
    return {
        "location_id": location_id,
        "chain_id": chain_id,
        "title": form.get("title", ""),
        "lang": lang,
        "langs": form.get("langs", [lang]),
        "steps": steps,
        "style": form.get("style", {}),
        "analytics": form.get("analytics", {}),
        "comment_input_name": form.get("comment_input_name", ""),
        "booking_notify_text": form.get("notify_text", ""),
        "is_show_privacy_policy": form.get("privacy_policy", False),
        "specialization_display_mode": 1 if display == "position" else 0,
        "sms_enabled": form.get("sms_enabled", True),
    }
