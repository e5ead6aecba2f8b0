"""Group events: rooms and other resources, the events of the business file and their sessions.

An event is one entry of the business file (a one-off session or a weekly series) and keeps
the file's id. Its sessions are the concrete occurrences, in aware UTC, with ids of their own:
the loader upserts them by (event, start), so a session keeps its id across reloads for as
long as the file keeps it (docs/decisions/0008-event-sessions.md). Seats are records
(`records.activity_id`, `records.clients_count`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from openbooking.models.base import Base, Timestamped

SESSION_ACTIVE = "active"
SESSION_CANCELLED = "cancelled"
# No session is longer than this (availability reads sessions that start this much before a day).
MAX_SESSION_SECONDS = 86400


class Resource(Timestamped, Base):
    """A room or piece of equipment a session takes; one session at a time."""

    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    deleted: Mapped[bool] = mapped_column(default=False)


class Event(Timestamped, Base):
    """A one-off session (`at`) or a weekly series (`weekly`), as the business file gives it."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    resource_ids: Mapped[list[Any]] = mapped_column(default=list)
    capacity: Mapped[int]
    length_seconds: Mapped[int]
    price_min: Mapped[float] = mapped_column(default=0.0)
    price_max: Mapped[float] = mapped_column(default=0.0)
    color: Mapped[str] = mapped_column(String(16), default="")
    font_color: Mapped[str] = mapped_column(String(16), default="")
    instructions: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[list[Any]] = mapped_column(default=list)
    stream_link: Mapped[str] = mapped_column(String(1024), default="")
    # One-off: local wall time "YYYY-MM-DDTHH:MM". Weekly: {"0": [seconds from midnight], ...}
    # (0 = Monday) between `first_date` and `last_date` (inclusive, either may be open).
    at: Mapped[str | None] = mapped_column(String(16))
    weekly: Mapped[dict[str, Any] | None]
    first_date: Mapped[date | None]
    last_date: Mapped[date | None]
    deleted: Mapped[bool] = mapped_column(default=False)


class EventSession(Base):
    """One occurrence of an event: busy time of its leader, `capacity` seats to book.

    The database refuses an active session that overlaps another active session of its leader
    or an individual (non-event) active record of them, and an individual record that overlaps
    an active session: on PostgreSQL an exclusion constraint and triggers, on SQLite triggers
    (migration 0008). A migration that rebuilds `records` or this table on SQLite (batch "move
    and copy") drops those triggers and must create them again.
    """

    __tablename__ = "event_sessions"
    __table_args__ = (
        UniqueConstraint("event_id", "starts_at"),
        Index("ix_event_sessions_location_starts", "location_id", "starts_at"),
        Index(
            "ix_event_sessions_staff_active_range",
            "staff_id",
            "starts_at",
            "ends_at",
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    capacity: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=SESSION_ACTIVE)
