"""Each process keeps what availability reads about its busiest locations' teams.

A location's rules, members and schedules change only when someone edits the catalog, while
every request of the booking widget needs them. They are kept here per engine (one per app, so
per worker process), for the most recently used locations, tagged with the catalog version they
were read at; the service trusts an entry only when the version it reads together with the
records is the same (see docs/decisions/0004-catalog-cache.md).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from openbooking.kit.db import engine_of

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.availability.service import Team

LOCATIONS = 64  # kept per process; the least recently used goes first


class TeamCache:
    """The teams of the `size` locations asked for most recently."""

    def __init__(self, size: int = LOCATIONS) -> None:
        self.size = size
        self._teams: OrderedDict[int, Team] = OrderedDict()

    def get(self, location_id: int) -> Team | None:
        team = self._teams.get(location_id)
        if team is not None:
            self._teams.move_to_end(location_id)
        return team

    def put(self, location_id: int, team: Team) -> None:
        self._teams[location_id] = team
        self._teams.move_to_end(location_id)
        while len(self._teams) > self.size:
            self._teams.popitem(last=False)


# One cache per engine, gone with it: apps (and the tests' many apps) never share one.
_caches: WeakKeyDictionary[Engine, TeamCache] = WeakKeyDictionary()


def of(session: AsyncSession) -> TeamCache | None:
    """The cache of the session's engine; None for a session without one (nothing is cached)."""
    engine = engine_of(session)
    if engine is None:
        return None
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = TeamCache()
    return cache
