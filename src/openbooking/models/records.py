"""Customers and their appointments. Times are aware UTC; local time exists only at the edge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from openbooking.kit.db import utcnow
from openbooking.models.base import Base, Timestamped

RECORD_ACTIVE = "active"
RECORD_CANCELLED = "cancelled"
# No appointment is longer than this; availability reads records that start this much before a day.
MAX_RECORD_SECONDS = 86400
# A member's busy-time counter is the row `staff_id & (BUSY_BUCKETS - 1)` of `busy_versions`.
BUSY_BUCKETS = 1024


class Client(Timestamped, Base):
    """A customer as one location knows them, keyed by the E.164 phone."""

    __tablename__ = "clients"
    __table_args__ = (Index("ix_clients_location_phone", "location_id", "phone", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    phone: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(254), default="")


class Record(Timestamped, Base):
    __tablename__ = "records"
    __table_args__ = (
        # Availability reads one member's records in a time range; this index is what keeps a
        # member-day independent of how many records the location holds.
        Index(
            "ix_records_staff_active_range",
            "staff_id",
            "starts_at",
            "ends_at",
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_records_location_starts", "location_id", "starts_at"),
        Index("ix_records_client_phone", "client_phone"),
        # `openbooking reminders run` looks for records whose reminder is due.
        Index("ix_records_reminder_at", "reminder_at"),
        # PostgreSQL also refuses overlapping active records of one member with an exclusion
        # constraint (migration 0003); SQLite relies on BEGIN IMMEDIATE. Seats of a group
        # event (`activity_id` set) share their session's time and are exempt (migration 0008).
        Index("ix_records_activity_id", "activity_id"),
        # One active booking per phone and session (docs/activities.md).
        Index(
            "ix_records_activity_phone",
            "activity_id",
            "client_phone",
            unique=True,
            sqlite_where=text("status = 'active' AND activity_id IS NOT NULL"),
            postgresql_where=text("status = 'active' AND activity_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=RECORD_ACTIVE)
    hash_digest: Mapped[str] = mapped_column(String(64), index=True)
    client_phone: Mapped[str] = mapped_column(String(16), default="")
    client_name: Mapped[str] = mapped_column(String(255), default="")
    client_email: Mapped[str] = mapped_column(String(254), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    api_id: Mapped[str] = mapped_column(String(64), default="")
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    master_requested: Mapped[bool] = mapped_column(default=True)
    online: Mapped[bool] = mapped_column(default=True)
    attendance: Mapped[int] = mapped_column(default=0)
    notify_by_sms: Mapped[int] = mapped_column(default=0)
    notify_by_email: Mapped[int] = mapped_column(default=0)
    # When the SMS reminder is due (`notify_by_sms` hours before the visit); None when none is
    # asked for, the location sends none, or it has been claimed for sending.
    reminder_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    # A seat booking of a group-event session (`event_sessions.id`), with its number of seats;
    # null for an individual appointment.
    activity_id: Mapped[int | None]
    clients_count: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    # Bumped on every change the customer or business would see (calendar SEQUENCE).
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")


class RecordService(Base):
    __tablename__ = "record_services"

    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    duration_seconds: Mapped[int]
    cost: Mapped[float] = mapped_column(default=0.0)


class IdempotentRequest(Base):
    """A `book_record` call made with an `Idempotency-Key`: claimed before it runs, then holding
    its answer for replays. The key is stored only as a keyed digest (with the partner it came
    from), and the answer, which carries record hashes, only encrypted under a key derived from
    the server secret and the client's key."""

    __tablename__ = "idempotent_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]  # None while the first call is in flight
    response: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class BusyVersion(Base):
    """A counter that database triggers (migration 0013) bump on every change to the busy time
    (records and event sessions) of the members whose ids fall in its `bucket`, whoever makes
    it: a process that keeps busy time it read compares counters to know whether it is still
    current (docs/decisions/0018-busy-time-cache.md)."""

    __tablename__ = "busy_versions"

    bucket: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
