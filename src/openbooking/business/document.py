"""Reading and checking a business file: the pydantic models first, then the cross-references.

Everything here is pure: a bad file is refused with the path of the first bad field before the
database is touched.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
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


def _clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def parse_range(text: str) -> tuple[int, int]:
    start, end = text.split("-")
    return _clock(start), _clock(end)


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
