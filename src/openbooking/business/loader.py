"""Load a checked business file into the database, in one transaction.

Upserts by the file's ids, so reloading an unchanged file changes nothing and an edited file
updates in place. Entities that vanished from the file are soft-deleted; schedules and
member-service links become exactly what the file says. The SQL is in `catalog.repository`,
reached through `catalog.service`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openbooking.activities import service as activities
from openbooking.business import document
from openbooking.business.document import GENDERS, BusinessFileError, day_ranges, event_length
from openbooking.business.schemas import (
    DEFAULT_STEPS,
    WEEKDAYS,
    Bookform,
    BusinessFile,
    Category,
    Event,
    Location,
    Position,
    Service,
    StaffMember,
)
from openbooking.catalog import service as catalog
from openbooking.catalog.service import IntervalKey, OwnedElsewhere, StaffServiceFields
from openbooking.models import Base
from openbooking.models import Bookform as BookformRow
from openbooking.models import Chain as ChainRow
from openbooking.models import Event as EventRow
from openbooking.models import Location as LocationRow
from openbooking.models import Position as PositionRow
from openbooking.models import Resource as ResourceRow
from openbooking.models import Service as ServiceRow
from openbooking.models import ServiceCategory as CategoryRow
from openbooking.models import Staff as StaffRow

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.ext.asyncio import AsyncSession


async def load(session: AsyncSession, data: BusinessFile | Mapping[str, Any]) -> None:
    """Apply a file (typed, or plain values that are checked first). The caller commits."""
    business = data if isinstance(data, BusinessFile) else document.parse(data)
    chain = business.chain
    chain_id = None if chain is None else chain.id
    if chain is not None:
        await _upsert(session, ChainRow, chain.id, "chain", {"title": chain.title}, owner=None)
    for index, location in enumerate(business.locations):
        await _load_location(session, location, chain_id, f"locations[{index}]")
    if chain is not None:
        owner = ("chain_id", chain.id)
        await catalog.soft_delete_missing(
            session, LocationRow, owner, [location.id for location in business.locations]
        )
        for index, form in enumerate(business.bookforms):
            fields = _bookform_fields(form, "en-US", chain_id=chain.id, location_id=None)
            await _upsert(session, BookformRow, form.id, f"bookforms[{index}]", fields, owner=owner)
        await catalog.soft_delete_missing(
            session, BookformRow, owner, [form.id for form in business.bookforms]
        )
    await session.flush()


async def _upsert(
    session: AsyncSession,
    model: type[Base],
    entity_id: int,
    path: str,
    fields: dict[str, Any],
    *,
    owner: tuple[str, int | None] | None,
) -> None:
    try:
        await catalog.upsert(session, model, entity_id, fields, owner=owner)
    except OwnedElsewhere as exc:
        raise BusinessFileError(
            f"{path}.id", f"id {entity_id} already belongs to another {exc.owner} ({exc.owner_id})"
        ) from None


def _location_fields(location: Location, chain_id: int | None) -> dict[str, Any]:
    booking = location.booking
    return {
        "chain_id": chain_id,
        "title": location.title,
        "short_descr": location.short_descr,
        "description": location.description,
        "logo": location.logo,
        "address": location.address,
        "city": location.city,
        "country": location.country,
        "country_code": location.country_code,
        "zip": location.zip,
        "phones": location.phones,
        "site": location.site,
        "email": location.email,
        "coordinate_lat": location.coordinates.lat,
        "coordinate_lon": location.coordinates.lon,
        "timezone": location.timezone,
        "currency": location.currency,
        "language": location.language,
        "group_priority": location.group_priority,
        "active": location.active,
        "privacy_policy": location.privacy_policy,
        "review_sms": location.reviews.sms_request,
        "phone_confirmation": booking.phone_confirmation,
        "booking_comment_required": booking.comment_required,
        "booking_email_required": booking.email_required,
        "booking_comment_input_name": booking.comment_input_name,
        "booking_notify_text": booking.notify_text,
        "allow_delete_record": booking.allow_delete_record,
        "allow_delete_record_delay_step": booking.allow_delete_record_delay_step,
        "allow_change_record": booking.allow_change_record,
        "allow_change_record_delay_step": booking.allow_change_record_delay_step,
        "min_notice_seconds": booking.min_notice,
        "horizon_days": booking.horizon_days,
        "slot_step_seconds": booking.slot_step or 900,
        "phone_blacklist": booking.phone_blacklist,
        "sms_countries": booking.sms_countries,
        "sms_daily_budget": booking.sms_daily_budget,
        "sms_confirmation": booking.sms_confirmation,
        "sms_cancellation": booking.sms_cancellation,
        "sms_reminders": booking.sms_reminders,
        "email_confirmation": location.notifications.email_confirmation,
        "email_cancellation": location.notifications.email_cancellation,
        "email_reminders": location.notifications.email_reminders,
        "email_staff_notices": location.notifications.email_staff_notices,
        "calendar_phones": location.notifications.calendar_phones,
        "webhooks": [hook.model_dump() for hook in location.notifications.webhooks],
    }


def _category_fields(item: Category, location_id: int) -> dict[str, Any]:
    return {
        "location_id": location_id,
        "title": item.title,
        "gender": GENDERS[item.gender],
        "api_id": item.api_id,
        "weight": item.weight,
    }


def _position_fields(item: Position, location_id: int) -> dict[str, Any]:
    return {"location_id": location_id, "title": item.title}


def _service_fields(item: Service, location_id: int) -> dict[str, Any]:
    return {
        "location_id": location_id,
        "category_id": item.category,
        "title": item.title,
        "duration_seconds": item.duration,
        "price_min": item.price_min,
        "price_max": item.top_price,
        "discount": item.discount,
        "prepaid": item.prepaid,
        "gender": GENDERS[item.gender],
        "image": item.image,
        "weight": item.weight,
        "active": item.active,
        "api_id": item.api_id,
        "comment": item.comment,
    }


def _staff_fields(item: StaffMember, location_id: int) -> dict[str, Any]:
    return {
        "location_id": location_id,
        "position_id": item.position,
        "name": item.name,
        "specialization": item.specialization,
        "avatar": item.avatar,
        "avatar_big": item.avatar_big,
        "rating": item.rating,
        "votes_count": item.votes_count,
        "comments_count": item.comments_count,
        "show_rating": item.show_rating,
        "weight": item.weight,
        "bookable": item.bookable,
        "information": item.information,
        "api_id": item.api_id,
        "email": item.email,
    }


async def _load_location(
    session: AsyncSession, location: Location, chain_id: int | None, path: str
) -> None:
    location_id = location.id
    fields = _location_fields(location, chain_id)
    await _upsert(session, LocationRow, location_id, path, fields, owner=("chain_id", chain_id))
    await session.flush()
    owner = ("location_id", location_id)
    for index, category in enumerate(location.categories):
        await _upsert(
            session,
            CategoryRow,
            category.id,
            f"{path}.categories[{index}]",
            _category_fields(category, location_id),
            owner=owner,
        )
    for index, position in enumerate(location.positions):
        await _upsert(
            session,
            PositionRow,
            position.id,
            f"{path}.positions[{index}]",
            _position_fields(position, location_id),
            owner=owner,
        )
    await session.flush()
    for index, service in enumerate(location.services):
        await _upsert(
            session,
            ServiceRow,
            service.id,
            f"{path}.services[{index}]",
            _service_fields(service, location_id),
            owner=owner,
        )
    for index, member in enumerate(location.staff):
        await _upsert(
            session,
            StaffRow,
            member.id,
            f"{path}.staff[{index}]",
            _staff_fields(member, location_id),
            owner=owner,
        )
    await session.flush()
    kept: list[tuple[type[Base], list[int]]] = [
        (CategoryRow, [item.id for item in location.categories]),
        (ServiceRow, [item.id for item in location.services]),
        (PositionRow, [item.id for item in location.positions]),
        (StaffRow, [item.id for item in location.staff]),
    ]
    for model, ids in kept:
        await catalog.soft_delete_missing(session, model, owner, ids)
    for member in location.staff:
        await catalog.sync_staff_services(session, member.id, _staff_services(member))
        days_off = set(member.schedule.days_off)
        await catalog.sync_schedule(session, member.id, _intervals(member), days_off)

    for index, form in enumerate(location.bookforms):
        fields = _bookform_fields(form, location.language, chain_id=None, location_id=location_id)
        await _upsert(
            session, BookformRow, form.id, f"{path}.bookforms[{index}]", fields, owner=owner
        )
    await catalog.soft_delete_missing(
        session, BookformRow, owner, [form.id for form in location.bookforms]
    )
    await _load_events(session, location, path)


async def _load_events(session: AsyncSession, location: Location, path: str) -> None:
    """Resources and events by their ids, then the sessions they make (activities.service)."""
    owner = ("location_id", location.id)
    for index, resource in enumerate(location.resources):
        fields = {"location_id": location.id, "title": resource.title}
        await _upsert(
            session, ResourceRow, resource.id, f"{path}.resources[{index}]", fields, owner=owner
        )
    for index, event in enumerate(location.events):
        await _upsert(
            session,
            EventRow,
            event.id,
            f"{path}.events[{index}]",
            _event_fields(event, location),
            owner=owner,
        )
    await session.flush()
    await catalog.soft_delete_missing(
        session, ResourceRow, owner, [item.id for item in location.resources]
    )
    kept = await activities.api_event_ids(session, location.id)  # sessions made by the API
    await catalog.soft_delete_missing(
        session, EventRow, owner, [item.id for item in location.events] + kept
    )
    row = await catalog.location(session, location.id)
    paths = {event.id: f"{path}.events[{index}]" for index, event in enumerate(location.events)}
    try:
        await activities.sync_sessions(session, row, paths)
    except activities.SessionConflict as exc:
        raise BusinessFileError(exc.path, exc.message) from None


def _event_fields(event: Event, location: Location) -> dict[str, Any]:
    service = next(item for item in location.services if item.id == event.service)
    price_min = service.price_min if event.price_min is None else event.price_min
    price_max = service.top_price if event.price_min is None else price_min
    weekly = None
    if event.weekly is not None:
        weekly = {
            str(weekday): sorted(document.clock(text) for text in getattr(event.weekly, name))
            for weekday, name in enumerate(WEEKDAYS)
            if getattr(event.weekly, name)
        }
    return {
        "location_id": location.id,
        "service_id": event.service,
        "staff_id": event.staff,
        "resource_ids": list(event.resources),
        "capacity": event.capacity,
        "length_seconds": event_length(event, location),
        "price_min": price_min,
        "price_max": price_max if event.price_max is None else event.price_max,
        "color": event.color,
        "font_color": event.font_color,
        "instructions": event.instructions,
        "labels": list(event.labels),
        "stream_link": event.stream_link,
        "at": event.at,
        "weekly": weekly,
        "first_date": event.start_date,
        "last_date": event.end_date,
    }


def _staff_services(member: StaffMember) -> dict[int, StaffServiceFields]:
    wanted: dict[int, StaffServiceFields] = {}
    for link in member.services:
        if isinstance(link, int):
            wanted[link] = StaffServiceFields()
        else:
            price_max = link.price_min if link.price_max is None else link.price_max
            wanted[link.service] = StaffServiceFields(link.duration, link.price_min, price_max)
    return wanted


def _intervals(member: StaffMember) -> set[IntervalKey]:
    schedule = member.schedule
    result: set[IntervalKey] = set()
    for weekday, name in enumerate(WEEKDAYS):
        written = getattr(schedule.weekly, name)
        if written is not None:
            day = day_ranges(written)
            result |= {IntervalKey(weekday, None, s, e, False) for s, e in day.hours}
            result |= {IntervalKey(weekday, None, s, e, True) for s, e in day.breaks}
    for exception in schedule.exceptions:
        day = day_ranges(exception.hours)
        result |= {IntervalKey(None, exception.date, s, e, False) for s, e in day.hours}
        result |= {IntervalKey(None, exception.date, s, e, True) for s, e in day.breaks}
    return result


def _bookform_fields(
    form: Bookform, default_lang: str, *, chain_id: int | None, location_id: int | None
) -> dict[str, Any]:
    lang = form.lang or default_lang
    steps = [step.model_dump(exclude_unset=True) for step in form.steps] or [
        {"step": name} for name in DEFAULT_STEPS
    ]
    return {
        "location_id": location_id,
        "chain_id": chain_id,
        "title": form.title,
        "lang": lang,
        "langs": [lang] if form.langs is None else form.langs,
        "steps": steps,
        "style": form.style.model_dump(exclude_unset=True),
        "analytics": form.analytics.model_dump(exclude_unset=True),
        "comment_input_name": form.comment_input_name,
        "booking_notify_text": form.notify_text,
        "is_show_privacy_policy": form.privacy_policy,
        "specialization_display_mode": 1 if form.specialization_display == "position" else 0,
        "sms_enabled": form.sms_enabled,
        "embed_origins": form.embed_origins,
    }
