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


def local_instants(naive: datetime, local: ZoneInfo) -> list[datetime]:
    """The real instants (UTC) showing wall-clock `naive`: none, one, or two at fall-back."""
    found = []
    for fold in (0, 1):
        instant = naive.replace(tzinfo=local, fold=fold).astimezone(UTC)
        if instant.astimezone(local).replace(tzinfo=None) == naive and instant not in found:
            found.append(instant)
    return sorted(found)


def instant(moment: datetime, local: ZoneInfo, *, exact: bool) -> datetime:
    """`moment` in aware UTC; without an offset it is wall-clock time in `local`. A local time
    that does not exist (spring forward) raises ValueError; one that exists twice (fall back)
    is its first occurrence, or, when `exact` (a booking), a ValueError asking for the offset."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    found = local_instants(moment, local)
    if not found:
        raise ValueError("that local time does not exist (clock change)")
    if exact and len(found) > 1:
        raise ValueError("send the UTC offset (clock change)")
    return found[0]
