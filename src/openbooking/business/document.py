"""Reading and checking a business file: the pydantic models first, then the cross-references.

Everything here is pure: a bad file is refused with the path of the first bad field before the
database is touched.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import TypeAdapter, ValidationError

from openbooking.business import schemas
from openbooking.business.schemas import (
    DEFAULT_STEPS,
    TAG_PREFIX,
    WEEKDAYS,
    Bookform,
    BusinessFile,
    DayHours,
    Event,
    Location,
    StaffMember,
    seconds,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

__all__ = [
    "DEFAULT_STEPS",
    "GENDERS",
    "MAX_FILE_BYTES",
    "WEEKDAYS",
    "BusinessFileError",
    "Day",
    "check",
    "day_ranges",
    "parse",
    "parse_day",
    "read",
    "read_file",
    "seconds",
]

MAX_FILE_BYTES = 20 * 1024 * 1024
GENDERS = {"any": 0, "male": 1, "female": 2}
_FILE = TypeAdapter(BusinessFile)
_DAY: TypeAdapter[list[str] | DayHours] = TypeAdapter(schemas.Day)


class BusinessFileError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


def _path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _first_error(exc: ValidationError, prefix: Sequence[str | int] = ()) -> BusinessFileError:
    """The first of pydantic's errors as `path: message`, in the file's own terms."""
    error = exc.errors(include_url=False)[0]
    loc = [*prefix]
    loc += [p for p in error["loc"] if not (isinstance(p, str) and p.startswith(TAG_PREFIX))]
    message = error["msg"]
    if error["type"] in {"missing", "extra_forbidden"} and loc:
        name = loc.pop()
        if error["type"] == "missing":
            message = f"{name!r} is a required property"
        else:
            message = f"unknown field {name!r}"
    return BusinessFileError(_path(loc) or "(file)", message)


def read_file(path: Path) -> BusinessFile:
    """Parse a YAML or JSON file (JSON is YAML) and check it; raises BusinessFileError."""
    return parse(_load_yaml(path))


def read(path: Path) -> dict[str, Any]:
    """The checked file as plain JSON-like values (dates as ISO strings)."""
    data = _plain(_load_yaml(path))
    check(data)
    assert isinstance(data, dict)
    return data


def _load_yaml(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BusinessFileError("", f"file is larger than {MAX_FILE_BYTES // 2**20} MiB")
        text = path.read_text("utf-8")
    except OSError as exc:
        raise BusinessFileError("", f"cannot read file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BusinessFileError("", "file is not UTF-8 text") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise BusinessFileError("", f"not valid YAML/JSON{where}") from exc


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def parse(data: Any) -> BusinessFile:
    """The typed file, or BusinessFileError naming the first bad field."""
    try:
        document = _FILE.validate_python(data)
    except ValidationError as exc:
        raise _first_error(exc) from None
    _check_references(document)
    return document


def check(data: Any) -> None:
    """Raise BusinessFileError naming the first bad field; `data` is plain JSON-like values."""
    parse(data)


def clock(text: str) -> int:
    """Seconds from midnight of "HH:MM"."""
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def parse_range(text: str) -> tuple[int, int]:
    start, end = text.split("-")
    return clock(start), clock(end)


def _text(seconds_of_day: int) -> str:
    return f"{seconds_of_day // 3600:02d}:{seconds_of_day % 3600 // 60:02d}"


@dataclass
class Day:
    """A day's ranges in seconds from local midnight."""

    hours: list[tuple[int, int]] = field(default_factory=list)
    breaks: list[tuple[int, int]] = field(default_factory=list)


def day_ranges(day: list[str] | DayHours) -> Day:
    if isinstance(day, list):
        return Day(hours=[parse_range(item) for item in day])
    return Day(
        hours=[parse_range(item) for item in day.hour_ranges],
        breaks=[parse_range(item) for item in day.breaks],
    )


def parse_day(value: Any, path: str) -> Day:
    """A day as written in the file (or already typed), checked; errors name `path`."""
    try:
        typed = _DAY.validate_python(value)
    except ValidationError as exc:
        raise _first_error(exc, [path]) from None
    day = day_ranges(typed)
    _check_day(day, path)
    return day


def _check_day(day: Day, path: str) -> None:
    for index, (start, end) in enumerate(day.hours):
        if start >= end:
            raise BusinessFileError(f"{path}.hours[{index}]", "a range must end after it starts")
    _check_overlaps(day.hours, f"{path}.hours")
    for index, (start, end) in enumerate(day.breaks):
        if start >= end:
            raise BusinessFileError(f"{path}.breaks[{index}]", "a break must end after it starts")
        if not any(h_start <= start and end <= h_end for h_start, h_end in day.hours):
            raise BusinessFileError(f"{path}.breaks[{index}]", "a break must lie inside the hours")
    _check_overlaps(day.breaks, f"{path}.breaks")


def _check_overlaps(ranges: list[tuple[int, int]], path: str) -> None:
    """Ranges of one day may touch (10:00-12:00, 12:00-14:00) but not overlap."""
    ordered = sorted(range(len(ranges)), key=lambda index: ranges[index])
    for before, after in itertools.pairwise(ordered):
        if ranges[after][0] < ranges[before][1]:
            earlier, later = sorted((before, after))
            start, end = ranges[earlier]
            raise BusinessFileError(
                f"{path}[{later}]",
                f"overlaps {_text(start)}-{_text(end)} ([{earlier}]); ranges may touch, "
                "not overlap",
            )


def _unique(seen: dict[str, dict[int, str]], kind: str, entity_id: int, path: str) -> None:
    earlier = seen.setdefault(kind, {}).get(entity_id)
    if earlier is not None:
        raise BusinessFileError(f"{path}.id", f"{kind} id {entity_id} is also used at {earlier}")
    seen[kind][entity_id] = path


def _check_references(document: BusinessFile) -> None:
    seen: dict[str, dict[int, str]] = {}
    if document.bookforms and document.chain is None:
        raise BusinessFileError("bookforms", "chain-level booking forms need a `chain`")
    for index, form in enumerate(document.bookforms):
        _unique(seen, "bookforms", form.id, f"bookforms[{index}]")
    for index, location in enumerate(document.locations):
        _check_location(location, f"locations[{index}]", seen)
    staff = {member.id for location in document.locations for member in location.staff}
    services = {service.id for location in document.locations for service in location.services}
    for index, form in enumerate(document.bookforms):
        _check_step_defaults(form, f"bookforms[{index}]", staff, services, "this chain")


def _check_location(location: Location, path: str, seen: dict[str, dict[int, str]]) -> None:
    _unique(seen, "location", location.id, path)
    ids = {
        "categories": [item.id for item in location.categories],
        "services": [item.id for item in location.services],
        "positions": [item.id for item in location.positions],
        "staff": [item.id for item in location.staff],
        "bookforms": [item.id for item in location.bookforms],
        "resources": [item.id for item in location.resources],
        "events": [item.id for item in location.events],
    }
    for kind, kind_ids in ids.items():
        for index, entity_id in enumerate(kind_ids):
            _unique(seen, kind, entity_id, f"{path}.{kind}[{index}]")
    categories = {item.id for item in location.categories}
    for index, service in enumerate(location.services):
        if service.category not in categories:
            raise BusinessFileError(
                f"{path}.services[{index}].category",
                f"no category {service.category} in this location",
            )
    services = {item.id for item in location.services}
    positions = {item.id for item in location.positions}
    for index, member in enumerate(location.staff):
        _check_member(member, f"{path}.staff[{index}]", services, positions)
    staff = {member.id for member in location.staff}
    for index, form in enumerate(location.bookforms):
        _check_step_defaults(form, f"{path}.bookforms[{index}]", staff, services, "this location")
    _check_events(location, path)


def _check_member(member: StaffMember, where: str, services: set[int], positions: set[int]) -> None:
    if member.position is not None and member.position not in positions:
        raise BusinessFileError(
            f"{where}.position", f"no position {member.position} in this location"
        )
    linked: set[int] = set()
    for index, link in enumerate(member.services):
        service_id = link if isinstance(link, int) else link.service
        if service_id not in services:
            raise BusinessFileError(
                f"{where}.services[{index}]", f"no service {service_id} in this location"
            )
        if service_id in linked:
            raise BusinessFileError(f"{where}.services[{index}]", "service listed twice")
        linked.add(service_id)
    schedule = member.schedule
    for name in WEEKDAYS:
        day = getattr(schedule.weekly, name)
        if day is not None:
            _check_day(day_ranges(day), f"{where}.schedule.weekly.{name}")
    for index, exception in enumerate(schedule.exceptions):
        _check_day(day_ranges(exception.hours), f"{where}.schedule.exceptions[{index}].hours")


def _check_step_defaults(
    form: Bookform, where: str, staff: set[int], services: set[int], scope: str
) -> None:
    """A `master` step's default is a staff id, a `service` step's a service id; -1 is none."""
    for index, step in enumerate(form.steps):
        if step.step not in {"master", "service"} or step.default == -1:
            continue
        kind, known = ("staff member", staff) if step.step == "master" else ("service", services)
        path = f"{where}.steps[{index}].default"
        if not isinstance(step.default, int):
            raise BusinessFileError(path, f"must be the id of a {kind}, or -1 for none")
        if step.default not in known:
            raise BusinessFileError(path, f"no {kind} {step.default} in {scope}")


# Group events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    """When an event's sessions happen, in local wall-clock terms: on `dates` (a one-off), or
    on `weekdays` (0 = Monday) between `first` and `last` (None: open)."""

    starts: tuple[int, int]  # seconds from local midnight, start and end
    on: date | None = None
    weekday: int | None = None
    first: date | None = None
    last: date | None = None

    def shares_a_day(self, other: Pattern) -> bool:
        if self.on is not None and other.on is not None:
            return self.on == other.on
        if self.on is not None or other.on is not None:
            one, series = (self, other) if self.on is not None else (other, self)
            assert one.on is not None
            return series.covers(one.on)
        first = max((d for d in (self.first, other.first) if d is not None), default=None)
        last = min((d for d in (self.last, other.last) if d is not None), default=None)
        if self.weekday is None or self.weekday != other.weekday:
            return False
        if first is None or last is None:
            return True
        days = (last - first).days
        return days >= 0 and (days >= 6 or (self.weekday - first.weekday()) % 7 <= days)

    def covers(self, day: date) -> bool:
        return (
            day.weekday() == self.weekday
            and (self.first is None or self.first <= day)
            and (self.last is None or day <= self.last)
        )


def event_length(event: Event, location: Location) -> int:
    if event.length is not None:
        return event.length
    return next((s.duration for s in location.services if s.id == event.service), 0)


def event_patterns(event: Event, length: int) -> list[tuple[str, Pattern]]:
    """Each start of the event as a pattern, with the path of the field that gives it."""
    found: list[tuple[str, Pattern]] = []
    if event.at is not None:
        moment = datetime.fromisoformat(event.at)
        start = moment.hour * 3600 + moment.minute * 60
        found.append(("at", Pattern((start, start + length), on=moment.date())))
    if event.weekly is not None:
        for weekday, name in enumerate(WEEKDAYS):
            for index, text in enumerate(getattr(event.weekly, name)):
                start = clock(text)
                pattern = Pattern(
                    (start, start + length),
                    weekday=weekday,
                    first=event.start_date,
                    last=event.end_date,
                )
                found.append((f"weekly.{name}[{index}]", pattern))
    return found


def _check_events(location: Location, path: str) -> None:
    staff = {member.id: member for member in location.staff}
    placed: list[tuple[str, Event, Pattern]] = []
    for index, event in enumerate(location.events):
        where = f"{path}.events[{index}]"
        _check_event(event, location, where)
        for field_path, pattern in event_patterns(event, event_length(event, location)):
            if pattern.starts[1] > 86400:
                raise BusinessFileError(f"{where}.{field_path}", "a session must end by midnight")
            _check_leader_works(staff[event.staff], pattern, f"{where}.{field_path}")
            for other_path, other, other_pattern in placed:
                shared = _shared(event, other)
                if shared and pattern.shares_a_day(other_pattern):
                    start, end = pattern.starts
                    o_start, o_end = other_pattern.starts
                    if start < o_end and o_start < end:
                        raise BusinessFileError(
                            f"{where}.{field_path}",
                            f"overlaps the session at {other_path} of the same {shared}",
                        )
            placed.append((f"{where}.{field_path}", event, pattern))


def _check_event(event: Event, location: Location, where: str) -> None:
    if (event.at is None) == (event.weekly is None):
        raise BusinessFileError(where, "give either `at` (one session) or `weekly`")
    if event.at is not None and (event.start_date or event.end_date):
        raise BusinessFileError(where, "start_date and end_date belong to a weekly series")
    if event.start_date and event.end_date and event.end_date < event.start_date:
        raise BusinessFileError(f"{where}.end_date", "is before start_date")
    if event.at is not None:
        try:
            datetime.fromisoformat(event.at)
        except ValueError:
            raise BusinessFileError(f"{where}.at", f"{event.at!r} is not a date") from None
    if event.service not in {item.id for item in location.services}:
        raise BusinessFileError(f"{where}.service", f"no service {event.service} here")
    if event.staff not in {member.id for member in location.staff}:
        raise BusinessFileError(f"{where}.staff", f"no staff member {event.staff} here")
    resources = {item.id for item in location.resources}
    for number, resource in enumerate(event.resources):
        if resource not in resources:
            raise BusinessFileError(
                f"{where}.resources[{number}]", f"no resource {resource} in this location"
            )
    if event.price_min is not None and (event.price_max or event.price_min) < event.price_min:
        raise BusinessFileError(f"{where}.price_max", "must not be below price_min")
    if not 0 < event_length(event, location) <= schemas.MAX_SESSION:
        raise BusinessFileError(f"{where}.length", "a session lasts from 1 second to 24 hours")


def _shared(event: Event, other: Event) -> str:
    if event.staff == other.staff:
        return f"leader ({event.staff})"
    common = set(event.resources) & set(other.resources)
    return f"resource ({min(common)})" if common else ""


def _covered(day: Day, start: int, end: int) -> bool:
    inside = any(h_start <= start and end <= h_end for h_start, h_end in day.hours)
    return inside and not any(b_start < end and start < b_end for b_start, b_end in day.breaks)


def _check_leader_works(member: StaffMember, pattern: Pattern, where: str) -> None:
    """The leader works the whole session: a one-off on its date (a dated exception, else the
    weekly hours; not a day off), a series on its weekday's weekly hours."""
    start, end = pattern.starts
    schedule = member.schedule
    if pattern.on is not None:
        if pattern.on in schedule.days_off:
            raise BusinessFileError(where, f"{pattern.on} is a day off of staff {member.id}")
        written: Any = next(
            (item.hours for item in schedule.exceptions if item.date == pattern.on), None
        )
        if written is None:
            written = getattr(schedule.weekly, WEEKDAYS[pattern.on.weekday()])
        when = f"on {pattern.on}"
    else:
        assert pattern.weekday is not None
        written = getattr(schedule.weekly, WEEKDAYS[pattern.weekday])
        when = f"on {WEEKDAYS[pattern.weekday]}"
    if written is None or not _covered(day_ranges(written), start, end):
        raise BusinessFileError(
            where,
            f"staff {member.id} does not work {_text(start)}-{_text(end)} {when} "
            "(a session lies inside the leader's hours, outside breaks)",
        )
