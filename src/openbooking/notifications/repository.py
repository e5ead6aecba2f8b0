"""Notices SQL: what a notice says about a record, the outbox (add, claim, finish, retry) and
calendar-feed tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update

from openbooking.kit import sqlite_writer
from openbooking.kit.db import PG_DIALECT, Insert, encoder, insert_head, plain_insert_sql
from openbooking.models import (
    CalendarToken,
    Location,
    OutboxMessage,
    Record,
    RecordService,
    Service,
    Staff,
)

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession


async def location(session: AsyncSession, location_id: int) -> Location | None:
    return await session.get(Location, location_id)


async def staff(session: AsyncSession, staff_id: int) -> Staff | None:
    return await session.get(Staff, staff_id)


async def services_of(
    session: AsyncSession, record_ids: Sequence[int]
) -> dict[int, list[tuple[RecordService, Service]]]:
    """Each record's services in booking order."""
    rows = await session.execute(
        select(RecordService, Service)
        .join(Service, Service.id == RecordService.service_id)
        .where(RecordService.record_id.in_(record_ids))
        .order_by(RecordService.record_id, RecordService.position)
    )
    found: dict[int, list[tuple[RecordService, Service]]] = {i: [] for i in record_ids}
    for link, service in rows:
        found[link.record_id].append((link, service))
    return found


# The outbox.


async def add(session: AsyncSession, messages: Sequence[OutboxMessage]) -> None:
    session.add_all(messages)
    await session.flush()


OUTBOX_COLUMNS = (
    "channel",
    "event",
    "location_id",
    "record_id",
    "target",
    "payload",
    "created_at",
    "due_at",
    "attempts",
    "lease_until",
    "lease_owner",
    "sent_at",
    "dead_at",
    "last_error",
)
OUTBOX_INSERT = plain_insert_sql(OutboxMessage.__table__, OUTBOX_COLUMNS)
_outbox_values = sqlite_writer.encoder(OutboxMessage.__table__, OUTBOX_COLUMNS)


def insert_outbox(connection: sqlite3.Connection, messages: Sequence[OutboxMessage]) -> None:
    """`add` on SQLite's writer connection (`kit.sqlite_writer`)."""
    connection.executemany(OUTBOX_INSERT, [_outbox_values(message) for message in messages])


_OUTBOX_HEAD_PG = insert_head(OutboxMessage.__table__, OUTBOX_COLUMNS)
_outbox_values_pg = encoder(OutboxMessage.__table__, OUTBOX_COLUMNS, PG_DIALECT)


def outbox_insert_pg(messages: Sequence[OutboxMessage]) -> Insert:
    """`add` as rows of a PostgreSQL statement that writes them with others (a booking's,
    `bookings.repository.write_booking_on`)."""
    return Insert(_OUTBOX_HEAD_PG, [_outbox_values_pg(message) for message in messages])


async def drop_pending(
    session: AsyncSession, record_id: int, event: str, now: datetime, why: str
) -> None:
    """Give up the unsent messages of `event` about a record (a reminder of a visit that moved
    or was cancelled)."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.record_id == record_id,
            OutboxMessage.event == event,
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.dead_at.is_(None),
        )
        .values(dead_at=now, last_error=why)
    )


async def claim(
    session: AsyncSession, now: datetime, until: datetime, owner: str, limit: int
) -> list[OutboxMessage]:
    """Lease up to `limit` due messages to `owner` until `until`. PostgreSQL skips rows another
    worker has locked (FOR UPDATE SKIP LOCKED); SQLite's writers are serial (BEGIN IMMEDIATE),
    and the lease keeps a claimed row from every other claim until it expires."""
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.dead_at.is_(None),
            OutboxMessage.due_at <= now,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= now),
        )
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(await session.scalars(due))
    if not ids:
        return []
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(lease_until=until, lease_owner=owner, attempts=OutboxMessage.attempts + 1)
    )
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def mark_sent(session: AsyncSession, message_id: int, now: datetime) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None))
        .values(sent_at=now, lease_until=None, last_error="")
    )


async def retry_later(
    session: AsyncSession,
    message_id: int,
    owner: str,
    *,
    due_at: datetime | None,
    error: str,
    now: datetime,
) -> None:
    """Release a failed message for another attempt at `due_at`, or give it up (None)."""
    values: dict[str, object] = {"lease_until": None, "last_error": error[:255]}
    values |= {"due_at": due_at} if due_at is not None else {"dead_at": now}
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.lease_owner == owner,
            OutboxMessage.sent_at.is_(None),
        )
        .values(**values)
    )


async def messages(session: AsyncSession, channel: str | None = None) -> Sequence[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if channel is not None:
        query = query.where(OutboxMessage.channel == channel)
    return (await session.scalars(query)).all()


# Calendar feeds.


async def add_calendar_token(session: AsyncSession, token: CalendarToken) -> None:
    session.add(token)
    await session.flush()


async def calendar_token(session: AsyncSession, digest: str) -> CalendarToken | None:
    return await session.scalar(
        select(CalendarToken).where(
            CalendarToken.digest == digest, CalendarToken.revoked_at.is_(None)
        )
    )


async def revoke_calendar_tokens(
    session: AsyncSession, location_id: int, staff_id: int, now: datetime
) -> int:
    result = await session.execute(
        update(CalendarToken)
        .where(
            CalendarToken.location_id == location_id,
            CalendarToken.staff_id == staff_id,
            CalendarToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def calendar_tokens(session: AsyncSession) -> Sequence[CalendarToken]:
    return (await session.scalars(select(CalendarToken).order_by(CalendarToken.id))).all()


async def staff_records(
    session: AsyncSession, staff_id: int, since: datetime, until: datetime
) -> Sequence[Record]:
    """A member's records (cancelled ones too) starting in [since, until)."""
    return (
        await session.scalars(
            select(Record)
            .where(
                Record.staff_id == staff_id,
                Record.starts_at >= since,
                Record.starts_at < until,
            )
            .order_by(Record.starts_at, Record.id)
        )
    ).all()
