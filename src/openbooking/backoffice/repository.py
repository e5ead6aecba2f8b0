"""Backoffice SQL: business users, their tokens and locations; records, staff, services,
clients and schedules as the business sees them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select, update

from openbooking.models import (
    BusinessToken,
    BusinessUser,
    BusinessUserLocation,
    Client,
    DayOff,
    Location,
    OutboxMessage,
    Position,
    Record,
    RecordChange,
    RecordService,
    ScheduleInterval,
    Service,
    Staff,
    StaffService,
)
from openbooking.models.records import RECORD_ACTIVE

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date, datetime

    from sqlalchemy.ext.asyncio import AsyncSession


# Users and tokens.


async def user_by_email(session: AsyncSession, email: str) -> BusinessUser | None:
    return await session.scalar(select(BusinessUser).where(BusinessUser.email == email))


async def user_by_login(
    session: AsyncSession, phones: Sequence[str], email: str
) -> BusinessUser | None:
    return await session.scalar(
        select(BusinessUser)
        .where(BusinessUser.phone.in_(phones) | (BusinessUser.email == email))
        .limit(1)
    )


async def users(session: AsyncSession) -> Sequence[BusinessUser]:
    return (await session.scalars(select(BusinessUser).order_by(BusinessUser.id))).all()


async def location_ids_of(session: AsyncSession, user: BusinessUser) -> list[int]:
    """The locations `user` may act on: those granted, and every location of their chain."""
    granted = select(BusinessUserLocation.location_id).where(
        BusinessUserLocation.user_id == user.id
    )
    query = select(Location.id).where(Location.deleted.is_(False))
    if user.chain_id is not None:
        query = query.where(or_(Location.id.in_(granted), Location.chain_id == user.chain_id))
    else:
        query = query.where(Location.id.in_(granted))
    return list(await session.scalars(query.order_by(Location.id)))


async def grant(session: AsyncSession, user_id: int, location_ids: Sequence[int]) -> None:
    session.add_all(
        BusinessUserLocation(user_id=user_id, location_id=location_id)
        for location_id in dict.fromkeys(location_ids)
    )
    await session.flush()


async def remove_user(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(BusinessToken).where(BusinessToken.user_id == user_id))
    await session.execute(
        delete(BusinessUserLocation).where(BusinessUserLocation.user_id == user_id)
    )
    await session.execute(delete(BusinessUser).where(BusinessUser.id == user_id))


async def token_owner(session: AsyncSession, digest: str, now: datetime) -> BusinessUser | None:
    return await session.scalar(
        select(BusinessUser)
        .join(BusinessToken, BusinessToken.user_id == BusinessUser.id)
        .where(
            BusinessToken.token_sha256 == digest,
            BusinessToken.revoked_at.is_(None),
            BusinessToken.expires_at > now,
            BusinessUser.disabled_at.is_(None),
        )
    )


async def revoke_tokens(session: AsyncSession, user_id: int, now: datetime) -> int:
    result = await session.execute(
        update(BusinessToken)
        .where(BusinessToken.user_id == user_id, BusinessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def claim_totp_step(session: AsyncSession, user_id: int, step: int) -> bool:
    """Mark a TOTP time step used; exactly one of racing logins with the same code wins, and
    no code of that step or an earlier one is accepted again."""
    result = await session.execute(
        update(BusinessUser)
        .where(
            BusinessUser.id == user_id,
            or_(BusinessUser.totp_last_step.is_(None), BusinessUser.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def location(session: AsyncSession, location_id: int) -> Location | None:
    return await session.scalar(
        select(Location).where(Location.id == location_id, Location.deleted.is_(False))
    )


async def locations(session: AsyncSession, location_ids: Sequence[int]) -> Sequence[Location]:
    return (
        await session.scalars(
            select(Location).where(Location.id.in_(location_ids)).order_by(Location.id)
        )
    ).all()


# Records.


async def records(
    session: AsyncSession,
    location_id: int,
    *,
    filters: dict[str, Any],
    offset: int,
    limit: int,
) -> tuple[Sequence[Record], int]:
    """A page of the location's records, by start time, and how many match in all."""
    conditions: list[Any] = [Record.location_id == location_id]
    if filters.get("staff_id"):
        conditions.append(Record.staff_id == filters["staff_id"])
    if filters.get("client_id"):
        conditions.append(Record.client_id == filters["client_id"])
    if filters.get("activity_id"):
        conditions.append(Record.activity_id == filters["activity_id"])
    if filters.get("starts_from") is not None:
        conditions.append(Record.starts_at >= filters["starts_from"])
    if filters.get("starts_before") is not None:
        conditions.append(Record.starts_at < filters["starts_before"])
    if filters.get("created_from") is not None:
        conditions.append(Record.created_at >= filters["created_from"])
    if filters.get("created_before") is not None:
        conditions.append(Record.created_at < filters["created_before"])
    if filters.get("changed_after") is not None:
        conditions.append(Record.updated_at > filters["changed_after"])
    else:
        conditions.append(Record.status == RECORD_ACTIVE)
    total = await session.scalar(select(func.count()).select_from(Record).where(*conditions))
    rows = await session.scalars(
        select(Record)
        .where(*conditions)
        .order_by(Record.starts_at, Record.id)
        .offset(offset)
        .limit(limit)
    )
    return rows.all(), int(total or 0)


async def record(
    session: AsyncSession, record_id: int, *, for_update: bool = False
) -> Record | None:
    query = select(Record).where(Record.id == record_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def history(session: AsyncSession, record_id: int) -> Sequence[RecordChange]:
    return (
        await session.scalars(
            select(RecordChange)
            .where(RecordChange.record_id == record_id)
            .order_by(RecordChange.changed_at, RecordChange.id)
        )
    ).all()


async def outbox_of(session: AsyncSession, record_id: int) -> Sequence[OutboxMessage]:
    """The e-mails and webhook calls about a record, oldest first."""
    return (
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.record_id == record_id)
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
    ).all()


async def creators(session: AsyncSession, record_ids: Sequence[int]) -> dict[int, int]:
    """The business user who created each record, where one did."""
    rows = await session.execute(
        select(RecordChange.record_id, RecordChange.actor_id).where(
            RecordChange.record_id.in_(record_ids),
            RecordChange.action == "created",
            RecordChange.actor == "user",
        )
    )
    return {record_id: actor_id or 0 for record_id, actor_id in rows}


async def record_services(
    session: AsyncSession, record_ids: Sequence[int]
) -> dict[int, list[tuple[RecordService, Service]]]:
    rows = await session.execute(
        select(RecordService, Service)
        .join(Service, Service.id == RecordService.service_id)
        .where(RecordService.record_id.in_(record_ids))
        .order_by(RecordService.record_id, RecordService.position)
    )
    found: dict[int, list[tuple[RecordService, Service]]] = {}
    for link, service in rows:
        found.setdefault(link.record_id, []).append((link, service))
    return found


async def replace_services(
    session: AsyncSession, record_id: int, services: Sequence[tuple[Service, int]]
) -> None:
    await session.execute(delete(RecordService).where(RecordService.record_id == record_id))
    session.add_all(
        RecordService(
            record_id=record_id,
            service_id=service.id,
            position=index,
            duration_seconds=length,
            cost=service.price_min,
        )
        for index, (service, length) in enumerate(services)
    )
    await session.flush()


# Team, catalog and clients.


async def staff(session: AsyncSession, location_id: int) -> Sequence[Staff]:
    return (
        await session.scalars(
            select(Staff)
            .where(Staff.location_id == location_id, Staff.deleted.is_(False))
            .order_by(Staff.weight.desc(), Staff.id)
        )
    ).all()


async def staff_by_ids(session: AsyncSession, staff_ids: Sequence[int]) -> dict[int, Staff]:
    rows = await session.scalars(select(Staff).where(Staff.id.in_(staff_ids)))
    return {row.id: row for row in rows}


async def positions(session: AsyncSession, location_id: int) -> dict[int, Position]:
    rows = await session.scalars(select(Position).where(Position.location_id == location_id))
    return {row.id: row for row in rows}


async def services(session: AsyncSession, location_id: int) -> Sequence[Service]:
    return (
        await session.scalars(
            select(Service)
            .where(Service.location_id == location_id, Service.deleted.is_(False))
            .order_by(Service.weight.desc(), Service.id)
        )
    ).all()


async def staff_links(session: AsyncSession, location_id: int) -> Sequence[StaffService]:
    return (
        await session.scalars(
            select(StaffService)
            .join(Staff, Staff.id == StaffService.staff_id)
            .where(Staff.location_id == location_id, Staff.deleted.is_(False))
        )
    ).all()


async def clients(
    session: AsyncSession, location_id: int, term: str, offset: int, limit: int
) -> tuple[Sequence[Client], int]:
    conditions: list[Any] = [Client.location_id == location_id]
    if term:
        digits = "".join(ch for ch in term if ch.isdigit())
        pattern = f"%{term.lower()}%"
        match = func.lower(Client.name).like(pattern) | func.lower(Client.email).like(pattern)
        if digits:
            match = match | Client.phone.like(f"%{digits}%")
        conditions.append(match)
    total = await session.scalar(select(func.count()).select_from(Client).where(*conditions))
    rows = await session.scalars(
        select(Client).where(*conditions).order_by(Client.id).offset(offset).limit(limit)
    )
    return rows.all(), int(total or 0)


async def client(session: AsyncSession, location_id: int, client_id: int) -> Client | None:
    return await session.scalar(
        select(Client).where(Client.id == client_id, Client.location_id == location_id)
    )


async def visit_counts(session: AsyncSession, client_ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(
        select(Record.client_id, func.count())
        .where(Record.client_id.in_(client_ids), Record.status == RECORD_ACTIVE)
        .group_by(Record.client_id)
    )
    return {client_id: int(count) for client_id, count in rows if client_id is not None}


# Schedules.


async def schedule_rows(
    session: AsyncSession, staff_id: int, first: date, last: date
) -> tuple[Sequence[ScheduleInterval], Sequence[DayOff]]:
    """The member's weekly rows, their dated rows within `first`..`last`, and days off."""
    intervals = (
        await session.scalars(
            select(ScheduleInterval).where(
                ScheduleInterval.staff_id == staff_id,
                ScheduleInterval.date.is_(None) | ScheduleInterval.date.between(first, last),
            )
        )
    ).all()
    days_off = (
        await session.scalars(
            select(DayOff).where(DayOff.staff_id == staff_id, DayOff.date.between(first, last))
        )
    ).all()
    return intervals, days_off


async def replace_day(
    session: AsyncSession, staff_id: int, day: date, slots: Sequence[tuple[int, int]]
) -> None:
    """Make `day` an exception of the member's week: these working intervals (none = a day
    off). The database triggers bump the catalog version, so every worker sees it at once."""
    await session.execute(
        delete(ScheduleInterval).where(
            ScheduleInterval.staff_id == staff_id, ScheduleInterval.date == day
        )
    )
    await session.execute(delete(DayOff).where(DayOff.staff_id == staff_id, DayOff.date == day))
    if slots:
        session.add_all(
            ScheduleInterval(
                staff_id=staff_id, weekday=None, date=day, start_second=start, end_second=end
            )
            for start, end in slots
        )
    else:
        session.add(DayOff(staff_id=staff_id, date=day))
    await session.flush()


async def active_records_of(
    session: AsyncSession, staff_id: int, start: datetime, end: datetime
) -> Sequence[Record]:
    return (
        await session.scalars(
            select(Record)
            .where(
                Record.staff_id == staff_id,
                Record.status == RECORD_ACTIVE,
                Record.starts_at < end,
                Record.ends_at > start,
            )
            .order_by(Record.starts_at)
        )
    ).all()
