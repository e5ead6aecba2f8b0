"""Each process keeps the catalog rows a booking reads: its location, the location's bookable
services and its members.

A booking needs them all before its write, and reading them through the ORM cost three round
trips (and on SQLite the transaction they began) per booking, though they change only when
someone edits the catalog. Like the availability teams (`availability/cache.py`, decision 0004)
they are kept per engine for the most recently used locations, tagged with the catalog version
read before them, and trusted only while a request reads the same version.

Kept as plain column values, never as ORM objects: each request gets its own copies
(`Rows.location()` and friends), transient instances no session knows, so nothing a request does
to them reaches another request or the database.
"""

from __future__ import annotations

from collections import OrderedDict
from copy import deepcopy
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import inspect

from openbooking.kit.db import bare_instance, engine_of
from openbooking.models import Location, Service, Staff

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.models import Base

LOCATIONS = 64  # kept per process; the least recently used goes first

Model = TypeVar("Model", bound="Base")
Values = dict[str, Any]
# An instance's column values by attribute name, and the names of those that are JSON lists or
# dicts (copied for each request: a request may change its copy).
Kept = tuple[Values, tuple[str, ...]]


def kept(instance: Base) -> Kept:
    """What `copy_of` makes a copy of `instance` from."""
    values = {
        attribute.key: getattr(instance, attribute.key)
        for attribute in inspect(type(instance)).column_attrs
    }
    return values, tuple(key for key, value in values.items() if isinstance(value, list | dict))


def copy_of(model: type[Model], kept: Kept) -> Model:
    """A new transient instance with the kept values as if loaded (no change history: it is
    only read), its JSON lists and dicts copied too. About a tenth of the cost of
    `model(**values)`, which sends every value through its attribute's events."""
    values, mutable = kept
    instance = bare_instance(model)
    state = instance.__dict__
    state.update(values)
    for key in mutable:
        value = values[key]
        state[key] = deepcopy(value) if value else value.copy()
    return instance


class Rows:
    """One location's rows as read at catalog `version` (None: there is none, nothing keeps
    them): the location, its active services and all its members (deleted ones too, as a
    booking's notices look members up by id)."""

    __slots__ = ("_location", "_services", "_staff", "version")

    def __init__(
        self,
        version: int | None,
        location: Location,
        services: Iterable[Service],
        staff: Iterable[Staff],
    ) -> None:
        self.version = version
        self._location = kept(location)
        self._services = {service.id: kept(service) for service in services}
        self._staff = {member.id: kept(member) for member in staff}

    def location(self) -> Location:
        return copy_of(Location, self._location)

    def services(self, service_ids: Iterable[int]) -> dict[int, Service]:
        """The active services among `service_ids`, by id."""
        found = self._services
        return {
            service_id: copy_of(Service, found[service_id])
            for service_id in service_ids
            if service_id in found
        }

    def staff(self, staff_id: int) -> Staff | None:
        found = self._staff.get(staff_id)
        return copy_of(Staff, found) if found is not None else None


class RowsCache:
    """The rows of the `size` locations asked for most recently."""

    def __init__(self, size: int = LOCATIONS) -> None:
        self.size = size
        self._rows: OrderedDict[int, Rows] = OrderedDict()

    def get(self, location_id: int, version: int) -> Rows | None:
        """The location's rows if they were read at `version`."""
        rows = self._rows.get(location_id)
        if rows is None or rows.version != version:
            return None
        self._rows.move_to_end(location_id)
        return rows

    def latest(self, location_id: int) -> Rows | None:
        """The location's rows as last read, whatever version they were read at."""
        return self._rows.get(location_id)

    def put(self, location_id: int, rows: Rows) -> None:
        self._rows[location_id] = rows
        self._rows.move_to_end(location_id)
        while len(self._rows) > self.size:
            self._rows.popitem(last=False)


# One cache per engine, gone with it: apps (and the tests' many apps) never share one.
_caches: WeakKeyDictionary[Engine, RowsCache] = WeakKeyDictionary()


def of(session: AsyncSession) -> RowsCache | None:
    """The cache of the session's engine; None for a session without one (nothing is kept)."""
    engine = engine_of(session)
    if engine is None:
        return None
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = RowsCache()
    return cache
