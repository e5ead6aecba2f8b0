"""Reading and checking a business file: JSON Schema first, then the cross-references.

Everything here is pure: a bad file is refused with the path of the first bad field before the
database is touched.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import jsonschema
import yaml

from openbooking.catalog.languages import LANGUAGES
from openbooking.kit.clock import is_known_zone

if TYPE_CHECKING:
    from pathlib import Path

MAX_FILE_BYTES = 20 * 1024 * 1024
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GENDERS = {"any": 0, "male": 1, "female": 2}
DEFAULT_STEPS = ("service", "master", "datetime", "contact", "confirm")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class BusinessFileError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = (resources.files("openbooking.business") / "schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read(path: Path) -> dict[str, Any]:
    """Parse a YAML or JSON file (JSON is YAML) and check it; raises BusinessFileError."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BusinessFileError("", f"file is larger than {MAX_FILE_BYTES // 2**20} MiB")
        text = path.read_text("utf-8")
    except OSError as exc:
        raise BusinessFileError("", f"cannot read file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BusinessFileError("", "file is not UTF-8 text") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise BusinessFileError("", f"not valid YAML/JSON{where}") from exc
    data = _plain(data)
    check(data)
    assert isinstance(data, dict)
    return data


def check(data: Any) -> None:
    """Raise BusinessFileError naming the first bad field; `data` is plain JSON-like values."""
    validator = jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise BusinessFileError(_path(error.absolute_path) or "(file)", error.message)
    _check_references(data)


def _plain(value: Any) -> Any:
    """YAML turns unquoted dates into `date` objects; the schema speaks of strings."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def seconds(value: int | str) -> int:
    if isinstance(value, int):
        return value
    match = _DURATION.match(value)
    assert match is not None  # the schema's pattern guarantees it
    hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + secs


def parse_range(text: str) -> tuple[int, int]:
    start, end = text.split("-")
    return _clock(start), _clock(end)


def _clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


@dataclass
class Day:
    hours: list[tuple[int, int]] = field(default_factory=list)
    breaks: list[tuple[int, int]] = field(default_factory=list)


def parse_day(value: Any, path: str) -> Day:
    if isinstance(value, list):
        day = Day(hours=[parse_range(item) for item in value])
    else:
        hours = value["hours"]
        day = Day(
            hours=[parse_range(item) for item in ([hours] if isinstance(hours, str) else hours)],
            breaks=[parse_range(item) for item in value.get("breaks", [])],
        )
    for index, (start, end) in enumerate(day.hours):
        if start >= end:
            raise BusinessFileError(f"{path}.hours[{index}]", "a range must end after it starts")
    for index, (start, end) in enumerate(day.breaks):
        if start >= end:
            raise BusinessFileError(f"{path}.breaks[{index}]", "a break must end after it starts")
        if not any(h_start <= start and end <= h_end for h_start, h_end in day.hours):
            raise BusinessFileError(f"{path}.breaks[{index}]", "a break must lie inside the hours")
    return day


def _unique(seen: dict[str, dict[int, str]], kind: str, entity_id: int, path: str) -> None:
    earlier = seen.setdefault(kind, {}).get(entity_id)
    if earlier is not None:
        raise BusinessFileError(f"{path}.id", f"{kind} id {entity_id} is also used at {earlier}")
    seen[kind][entity_id] = path


def _check_language(code: str, path: str) -> None:
    if code not in LANGUAGES:
        raise BusinessFileError(path, f"unknown language {code!r}; known: {', '.join(LANGUAGES)}")


def _check_bookform(form: dict[str, Any], path: str) -> None:
    if "lang" in form:
        _check_language(form["lang"], f"{path}.lang")
    for index, code in enumerate(form.get("langs", [])):
        _check_language(code, f"{path}.langs[{index}]")
    steps = [step["step"] for step in form.get("steps", [])]
    if len(steps) != len(set(steps)):
        raise BusinessFileError(f"{path}.steps", "each step may appear once")


def _check_references(data: dict[str, Any]) -> None:
    seen: dict[str, dict[int, str]] = {}
    if data.get("bookforms") and "chain" not in data:
        raise BusinessFileError("bookforms", "chain-level booking forms need a `chain`")
    for index, form in enumerate(data.get("bookforms", [])):
        _unique(seen, "bookforms", form["id"], f"bookforms[{index}]")
        _check_bookform(form, f"bookforms[{index}]")
    for l_index, location in enumerate(data["locations"]):
        _check_location(location, f"locations[{l_index}]", seen)


def _check_location(location: dict[str, Any], path: str, seen: dict[str, dict[int, str]]) -> None:
    _unique(seen, "location", location["id"], path)
    if not is_known_zone(location["timezone"]):
        raise BusinessFileError(f"{path}.timezone", f"{location['timezone']!r} is not an IANA zone")
    if "language" in location:
        _check_language(location["language"], f"{path}.language")
    for kind in ("categories", "services", "positions", "staff", "bookforms"):
        for index, item in enumerate(location.get(kind, [])):
            _unique(seen, kind, item["id"], f"{path}.{kind}[{index}]")
    categories = {item["id"] for item in location.get("categories", [])}
    for index, service in enumerate(location.get("services", [])):
        where = f"{path}.services[{index}]"
        if service["category"] not in categories:
            raise BusinessFileError(
                f"{where}.category", f"no category {service['category']} in this location"
            )
        if service.get("price_min", 0) > service.get("price_max", service.get("price_min", 0)):
            raise BusinessFileError(f"{where}.price_max", "must not be below price_min")
    services = {item["id"] for item in location.get("services", [])}
    positions = {item["id"] for item in location.get("positions", [])}
    for index, member in enumerate(location.get("staff", [])):
        _check_member(member, f"{path}.staff[{index}]", services, positions)
    for index, form in enumerate(location.get("bookforms", [])):
        _check_bookform(form, f"{path}.bookforms[{index}]")


def _check_member(
    member: dict[str, Any], where: str, services: set[int], positions: set[int]
) -> None:
    if "position" in member and member["position"] not in positions:
        raise BusinessFileError(
            f"{where}.position", f"no position {member['position']} in this location"
        )
    linked: set[int] = set()
    for s_index, link in enumerate(member.get("services", [])):
        service_id = link if isinstance(link, int) else link["service"]
        if service_id not in services:
            raise BusinessFileError(
                f"{where}.services[{s_index}]", f"no service {service_id} in this location"
            )
        if service_id in linked:
            raise BusinessFileError(f"{where}.services[{s_index}]", "service listed twice")
        linked.add(service_id)
    schedule = member.get("schedule", {})
    for day_name, day in schedule.get("weekly", {}).items():
        parse_day(day, f"{where}.schedule.weekly.{day_name}")
    for e_index, exception in enumerate(schedule.get("exceptions", [])):
        parse_day(exception["hours"], f"{where}.schedule.exceptions[{e_index}].hours")
