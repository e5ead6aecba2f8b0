"""The e-mails about a booking, in the location's language (English when it has no texts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from openbooking.kit.clock import zone

if TYPE_CHECKING:
    from openbooking.models import Location, Record, Service, Staff

CONFIRMED, CHANGED, CANCELLED, REMINDER, STAFF_NEW = (
    "confirmed",
    "changed",
    "cancelled",
    "reminder",
    "staff_new",
)

_SUBJECTS = {
    "en-US": {
        CONFIRMED: "{place}: your appointment on {when} is confirmed",
        CHANGED: "{place}: your appointment is moved to {when}",
        CANCELLED: "{place}: your appointment on {when} is cancelled",
        REMINDER: "{place}: a reminder of your appointment on {when}",
        STAFF_NEW: "New booking on {when}: {client}",
    },
    "ru-RU": {
        CONFIRMED: "{place}: ваша запись на {when} подтверждена",
        CHANGED: "{place}: ваша запись перенесена на {when}",
        CANCELLED: "{place}: ваша запись на {when} отменена",
        REMINDER: "{place}: напоминаем о записи на {when}",
        STAFF_NEW: "Новая запись на {when}: {client}",
    },
}
_LABELS = {
    "en-US": {
        "hello": "Hello {name},",
        "when": "When",
        "services": "Services",
        "staff": "With",
        "where": "Where",
        "client": "Client",
        "phone": "Phone",
        "comment": "Comment",
        "ics": "The attached calendar file adds the appointment to your calendar.",
    },
    "ru-RU": {
        "hello": "Здравствуйте, {name}!",
        "when": "Когда",
        "services": "Услуги",
        "staff": "Специалист",
        "where": "Где",
        "client": "Клиент",
        "phone": "Телефон",
        "comment": "Комментарий",
        "ics": "Приложенный файл календаря добавит запись в ваш календарь.",
    },
}
# Fields: year, month, day, hour, minute (integers: strftime takes about four times as long).
_WHEN = {
    "en-US": "{0:04}-{1:02}-{2:02} at {3:02}:{4:02}",
    "ru-RU": "{2:02}.{1:02}.{0:04} в {3:02}:{4:02}",
}


@dataclass(frozen=True, slots=True)
class Mail:
    subject: str
    text: str


def language(location: Location) -> str:
    return location.language if location.language in _SUBJECTS else "en-US"


def when(record: Record, location: Location) -> str:
    """The visit's local date and time, as the location's messages say it."""
    local = record.starts_at.astimezone(zone(location.timezone))
    return _WHEN[language(location)].format(
        local.year, local.month, local.day, local.hour, local.minute
    )


def compose(
    kind: str,
    location: Location,
    record: Record,
    staff: Staff | None,
    services: list[Service],
) -> Mail:
    lang = language(location)
    labels = _LABELS[lang]
    moment = when(record, location)
    subject = _SUBJECTS[lang][kind].format(
        place=location.title, when=moment, client=record.client_name
    )
    lines: list[str] = []
    if kind != STAFF_NEW:
        lines += [labels["hello"].format(name=record.client_name), "", subject + ".", ""]
    lines.append(f"{labels['when']}: {moment} ({location.timezone})")
    if services:
        lines.append(f"{labels['services']}: {', '.join(s.title for s in services)}")
    if staff is not None and kind != STAFF_NEW:
        lines.append(f"{labels['staff']}: {staff.name}")
    where = ", ".join(p for p in (location.title, location.address, location.city) if p)
    lines.append(f"{labels['where']}: {where}")
    if kind == STAFF_NEW:
        lines.append(f"{labels['client']}: {record.client_name}")
        if location.calendar_phones:
            lines.append(f"{labels['phone']}: {record.client_phone}")
        if record.comment:
            lines.append(f"{labels['comment']}: {record.comment}")
    if kind in {CONFIRMED, CHANGED}:
        lines += ["", labels["ics"]]
    if location.phones and kind != STAFF_NEW:
        lines += ["", f"{location.title}: {', '.join(str(p) for p in location.phones)}"]
    return Mail(subject=subject, text="\n".join(lines) + "\n")
