"""What a business hears about bookings: the delivery outbox (e-mail, webhooks) and the
private calendar-feed tokens of team members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from openbooking.kit.db import utcnow
from openbooking.models.base import Base

CHANNEL_EMAIL = "email"
CHANNEL_WEBHOOK = "webhook"


class OutboxMessage(Base):
    """One e-mail or webhook call to deliver, written in the transaction of the change it
    tells about: committed with it or not at all. Workers claim due rows with a lease
    (`lease_until`), send, then mark them sent, or retry later with backoff; a worker that dies
    mid-send leaves the lease to expire, and another worker sends the row again (at least once).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "sent_at", "dead_at", "due_at"),
        Index("ix_outbox_record_id", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(32))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    record_id: Mapped[int | None]
    # An e-mail address, or a webhook URL.
    target: Mapped[str] = mapped_column(String(1024))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]  # gave up after the last retry, or no longer wanted
    last_error: Mapped[str] = mapped_column(String(255), default="")


class CalendarToken(Base):
    """A team member's calendar-feed token (`/calendar/{token}.ics`), kept only as a keyed
    digest."""

    __tablename__ = "calendar_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
