"""Aware UTC inside; a location's IANA zone only at the edge."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_known_zone(name: str) -> bool:
    return name in known_zones()


def utc_offset_hours(zone_name: str, at: datetime | None = None) -> float:
    """The zone's offset from UTC in hours at `at` (now by default), e.g. -5.0 or 5.5."""
    moment = at or datetime.now(UTC)
    offset = moment.astimezone(zone(zone_name)).utcoffset()
    assert offset is not None
    return offset.total_seconds() / 3600


def now() -> datetime:
    """The server's clock, the only one trusted (tests move it with time-machine)."""
    return datetime.now(UTC)
