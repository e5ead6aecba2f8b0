"""The business side's wire shapes (YCLIENTS B2B REST): records, team, services, clients,
schedules. The same in both dialects, except phones (E.164 with `+` for Altegio, digits for
YCLIENTS)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from openbooking.kit.clock import zone
from openbooking.kit.envelope import Dialect
from openbooking.models.notifications import CHANNEL_EMAIL
from openbooking.models.records import RECORD_ACTIVE

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from openbooking.models import (
        BusinessUser,
        Client,
        Location,
        OutboxMessage,
        Position,
        Record,
        RecordChange,
        RecordService,
        Service,
        Staff,
        StaffService,
    )


def phone(value: str, dialect: Dialect) -> str:
    return value.lstrip("+") if dialect is Dialect.YCLIENTS else value


def stamp(moment: datetime, location: Location) -> str:
    """`2026-10-24T17:30:00-0500`, as both vendors write it."""
    return moment.astimezone(zone(location.timezone)).strftime("%Y-%m-%dT%H:%M:%S%z")


def position_ref(position: Position | None) -> dict[str, Any]:
    return {"id": position.id, "title": position.title} if position else {"id": 0, "title": ""}


def staff_brief(staff: Staff, position: Position | None) -> dict[str, Any]:
    return {
        "id": staff.id,
        "api_id": staff.api_id,
        "name": staff.name,
        "specialization": staff.specialization,
        "spec": staff.specialization,
        "position": position_ref(position),
        "avatar": staff.avatar,
        "avatar_big": staff.avatar_big,
        "rating": staff.rating,
        "votes_count": staff.votes_count,
    }


def client(row: Client, visits: int, dialect: Dialect) -> dict[str, Any]:
    """A client as `GET /clients` lists them (no loyalty, categories or birthdays are kept)."""
    return {
        "id": row.id,
        "name": row.name,
        "phone": phone(row.phone, dialect),
        "email": row.email,
        "categories": [],
        "sex_id": 0,
        "sex": "",
        "discount": 0,
        "importance_id": 0,
        "importance": "",
        "card": 0,
        "birth_date": "",
        "comment": "",
        "sms_check": 0,
        "sms_not": 0,
        "spent": 0,
        "balance": 0,
        "visits": visits,
        "last_change_date": row.updated_at.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "custom_fields": {},
    }


def record_client(row: Client, visits: int, dialect: Dialect) -> dict[str, Any]:
    """The client inside a record."""
    return {
        "id": row.id,
        "name": row.name,
        "surname": "",
        "patronymic": "",
        "display_name": row.name,
        "phone": phone(row.phone, dialect),
        "card": "",
        "email": row.email,
        "success_visits_count": visits,
        "fail_visits_count": 0,
        "discount": 0,
        "is_new": visits <= 1,
        "custom_fields": {},
    }


def change(
    row: RecordChange, location: Location, names: dict[tuple[str, int], str]
) -> dict[str, Any]:
    return {
        "date": stamp(row.changed_at, location),
        "actor": {
            "type": row.actor,
            "id": row.actor_id,
            "name": names.get((row.actor, row.actor_id or 0), ""),
        },
        "action": row.action,
        "changes": row.details,
    }


def record(  # noqa: PLR0917 - the record and what it joins
    row: Record,
    location: Location,
    staff: Staff,
    position: Position | None,
    services: list[tuple[RecordService, Service]],
    client_view: dict[str, Any] | None,
    created_by: int,
) -> dict[str, Any]:
    local = row.starts_at.astimezone(zone(location.timezone))
    length = int((row.ends_at - row.starts_at).total_seconds())
    return {
        "id": row.id,
        "company_id": row.location_id,
        "staff_id": row.staff_id,
        "services": [
            {
                "id": service.id,
                "title": service.title,
                "cost": link.cost,
                "manual_cost": link.cost,
                "cost_per_unit": link.cost,
                "discount": service.discount,
                "first_cost": link.cost,
                "amount": 1,
            }
            for link, service in services
        ],
        "goods_transactions": [],
        "staff": staff_brief(staff, position),
        "client": client_view,
        "clients_count": row.clients_count,
        "date": local.strftime("%Y-%m-%d %H:%M:%S"),
        "datetime": stamp(row.starts_at, location),
        "create_date": stamp(row.created_at, location),
        "comment": row.comment,
        "online": row.online,
        "visit_attendance": row.attendance,
        "attendance": row.attendance,
        "confirmed": 1,
        "seance_length": length,
        "length": length,
        "technical_break_duration": 0,
        "sms_before": row.notify_by_sms,
        "sms_now": 0,
        "sms_now_text": "",
        "email_now": 0,
        "notified": int(row.reminded_at is not None),
        "master_request": int(row.master_requested),
        "api_id": row.api_id,
        "from_url": "",
        "review_requested": 0,
        "visit_id": row.id,
        "created_user_id": created_by,
        "deleted": row.status != RECORD_ACTIVE,
        "paid_full": 0,
        "prepaid": False,
        "prepaid_confirmed": False,
        "payment_status": 0,
        "last_change_date": stamp(row.updated_at, location),
        "custom_color": "",
        "custom_font_color": "",
        "record_labels": [],
        "activity_id": row.activity_id or 0,
        "custom_fields": row.custom_fields,
        "documents": [],
        "sms_remain_hours": row.notify_by_sms,
        "email_remain_hours": row.notify_by_email,
        "bookform_id": 0,
        "record_from": "",
        "is_mobile": 0,
        "is_sale_bill_printed": False,
        "client_agreements": None,
        "consumables": [],
        "finance_transactions": [],
    }


def staff(
    row: Staff,
    position: Position | None,
    links: list[StaffService],
    services: dict[int, Service],
    user_id: int,
) -> dict[str, Any]:
    """A team member (the reference writes `weight`, `hidden`, `fired`, `status` as strings)."""
    return {
        **staff_brief(row, position),
        "show_rating": int(row.show_rating),
        "user_id": user_id,
        "comments_count": row.comments_count,
        "weight": str(row.weight),
        "information": row.information,
        "hidden": "0",
        "fired": "0",
        "status": "0",
        "bookable": row.bookable,
        "services_links": [
            {
                "service_id": link.service_id,
                "length": link.duration_seconds or services[link.service_id].duration_seconds,
            }
            for link in links
            if link.service_id in services
        ],
    }


def service(row: Service, links: list[StaffService]) -> dict[str, Any]:
    return {
        "id": row.id,
        "salon_service_id": row.id,
        "title": row.title,
        "category_id": row.category_id,
        "weight": row.weight,
        "active": int(row.active),
        "api_id": row.api_id,
        "price_min": row.price_min,
        "price_max": row.price_max,
        "discount": f"{row.discount:g}",
        "comment": row.comment,
        "duration": row.duration_seconds,
        "prepaid": row.prepaid,
        "is_multi": False,
        "staff": [
            {"id": link.staff_id, "seance_length": link.duration_seconds or row.duration_seconds}
            for link in links
        ],
    }


def profile(user: BusinessUser, token: str, dialect: Dialect) -> dict[str, Any]:
    user_phone = phone(user.phone or "", dialect)
    return {
        "id": user.id,
        "user_token": token,
        "name": user.name,
        "phone": user_phone,
        "login": user.email,
        "email": user.email,
        "avatar": "",
        "is_approved": True,
        "is_email_confirmed": True,
    }


def notices(row: Record, location: Location, outbox: Sequence[OutboxMessage]) -> dict[str, Any]:
    """A booking's SMS and e-mail settings and the state of its outbox messages."""
    sms_on = bool(row.notify_by_sms) and location.sms_reminders
    if row.reminded_at is not None:
        reminder = "sent"
    elif row.reminder_at is not None and row.status == RECORD_ACTIVE:
        reminder = "pending"
    elif not sms_on or row.status != RECORD_ACTIVE:
        reminder = "off"
    else:
        reminder = "none"
    return {
        "sms": {
            "on": sms_on,
            "hours_before": row.notify_by_sms,
            "reminder": reminder,
            "due": stamp(row.reminder_at, location)
            if reminder == "pending" and row.reminder_at
            else None,
        },
        "email": {
            "on": bool(row.notify_by_email) and "@" in row.client_email,
            "hours_before": row.notify_by_email,
            "address": row.client_email,
        },
        "outbox": [outbox_entry(message, location) for message in outbox],
    }


def outbox_entry(message: OutboxMessage, location: Location) -> dict[str, Any]:
    if message.sent_at is not None:
        state = "sent"
    elif message.dead_at is not None:
        state = "failed" if message.attempts else "dropped"
    else:
        state = "pending"
    to = message.target
    if message.channel != CHANNEL_EMAIL:  # a webhook URL may hold a secret: its host only
        to = urlsplit(message.target).hostname or ""
    return {
        "id": message.id,
        "channel": message.channel,
        "event": message.event,
        "to": to,
        "state": state,
        "attempts": message.attempts,
        "due": stamp(message.due_at, location),
        "sent": stamp(message.sent_at, location) if message.sent_at else None,
        "error": message.last_error,
    }


def seconds_to_clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def activity(shown: dict[str, Any]) -> dict[str, Any]:
    """A group-event session as the B2B `activity` paths answer: the public search's shape
    (activities/render.py) with the fields the reference adds there."""
    service, staff = shown["service"], shown["staff"]
    category = service["category"]
    return {
        **shown,
        "comment": "",
        "duration_details": {
            "id": shown["id"],
            "services_duration": shown["length"],
            "technical_break_duration": 0,
        },
        "service": {
            **service,
            "is_category": False,
            "abonement_restriction": False,
            "labels": [],
            "resource_instances": shown["resource_instances"],
            "category": {
                **category,
                "is_category": True,
                "salon_service_id": str(category["id"]),
                "prepaid": "forbidden",
                "abonement_restriction": 0,
            },
        },
        "staff": {**staff, "user_id": 0},
    }
