"""Bookings SQL: records and their services, clients, idempotency keys, due reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, case, delete, func, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from openbooking.availability import busy
from openbooking.kit import sqlite_writer
from openbooking.kit.db import (
    PG_DIALECT,
    DriverConnection,
    Insert,
    encoder,
    fill,
    insert_head,
    plain_insert_sql,
    utcnow,
    values_sql,
)
from openbooking.kit.fastread import Statement
from openbooking.models import (
    Client,
    IdempotentRequest,
    Location,
    Position,
    Record,
    RecordChange,
    RecordService,
    Service,
    Staff,
)
from openbooking.models.records import RECORD_ACTIVE

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Sequence

    from sqlalchemy.ext.asyncio import AsyncSession


# The statements of every booking, built once (building one cost about as much as running it).
ACTIVE_SERVICES = select(Service).where(
    Service.id.in_(bindparam("service_ids", expanding=True)),
    Service.location_id == bindparam("location_id"),
    Service.deleted.is_(False),
    Service.active.is_(True),
)


# PostgreSQL: the advisory lock of a team member's bookings, (class, member) in the two-int key
# space. Class 9 is this one's own; class 8 is the group-event triggers' (migration 0008).
MEMBER_LOCK = select(func.pg_advisory_xact_lock(9, bindparam("key")))


async def lock_members(session: AsyncSession, staff_ids: Sequence[int]) -> None:
    """PostgreSQL: take the members' booking locks, in ascending order, until the transaction
    ends (a no-op on SQLite, whose writers are serial).

    Two transactions inserting overlapping records can each wait for the other inside the
    exclusion constraint's check, and PostgreSQL breaks that deadlock only after
    `deadlock_timeout` (lost_race answers 433 then). Holding the member's lock first, the
    second waits for the first to end and is refused by the constraint at once."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for staff_id in sorted(set(staff_ids)):
        await session.execute(MEMBER_LOCK, {"key": staff_id % 2147483647})


# Whether anything keeps a member busy within [start, end): the sources availability reads.
BUSY_WITHIN = union_all(*busy.SOURCES).limit(1)


async def busy_within(session: AsyncSession, staff_id: int, start: datetime, end: datetime) -> bool:
    """Whether a record or a group-event session of the member intersects [`start`, `end`)."""
    found = await session.execute(
        BUSY_WITHIN,
        {
            "staff_ids": [staff_id],
            "earliest": start - timedelta(seconds=busy.MAX_BUSY_SECONDS),
            "start": start,
            "end": end,
        },
    )
    return found.first() is not None


async def active_services(
    session: AsyncSession, location_id: int, service_ids: Sequence[int]
) -> dict[int, Service]:
    """The location's bookable services among `service_ids`, by id."""
    rows = await session.scalars(
        ACTIVE_SERVICES, {"service_ids": list(service_ids), "location_id": location_id}
    )
    return {row.id: row for row in rows}


def _client_upsert(insert: Any, returning: Any = Client) -> Any:
    """Add the location's client with the phone, or give the existing one the name (and the
    e-mail, when one is given) used now: one statement, whoever adds the phone first."""
    stmt = insert(Client).values(
        location_id=bindparam("location_id"),
        phone=bindparam("phone"),
        name=bindparam("name"),
        email=bindparam("email"),
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    new, old = stmt.excluded, Client.__table__.c
    email = case((new.email != "", new.email), else_=old.email)
    changed = or_(old.name != new.name, old.email != email)
    return (
        stmt.on_conflict_do_update(
            index_elements=[old.location_id, old.phone],
            set_={
                "name": new.name,
                "email": email,
                "updated_at": case((changed, new.updated_at), else_=old.updated_at),
            },
        )
        .returning(returning)
        .execution_options(populate_existing=True)
    )


CLIENT_UPSERT = {"sqlite": _client_upsert(sqlite_insert), "postgresql": _client_upsert(pg_insert)}


async def client(
    session: AsyncSession, location_id: int, phone: str, name: str, email: str | None
) -> Client:
    """The location's client with `phone`, added if new, with the name and e-mail given now."""
    dialect = session.get_bind().dialect.name
    found: Client | None = await session.scalar(
        CLIENT_UPSERT[dialect],
        {
            "location_id": location_id,
            "phone": phone,
            "name": name,
            "email": email or "",
            "now": utcnow(),
        },
    )
    assert found is not None
    return found


async def add_record(
    session: AsyncSession, record: Record, services: Sequence[tuple[Service, int]]
) -> None:
    """Insert `record` with its services (and each one's length); the database refuses an
    overlap with another active record of the member (PostgreSQL's exclusion constraint)."""
    session.add(record)
    await session.flush()
    session.add_all(
        RecordService(
            record_id=record.id,
            service_id=service.id,
            position=index,
            duration_seconds=length,
            cost=service.price_min,
        )
        for index, (service, length) in enumerate(services)
    )
    await session.flush()


async def record(
    session: AsyncSession, record_id: int, *, for_update: bool = False
) -> Record | None:
    query = select(Record).where(Record.id == record_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def records_of_phone(session: AsyncSession, phone: str) -> Sequence[Record]:
    """All records made with `phone`, at any location, newest first."""
    return (
        await session.scalars(
            select(Record).where(Record.client_phone == phone).order_by(Record.starts_at.desc())
        )
    ).all()


async def service_ids(session: AsyncSession, record_id: int) -> list[int]:
    rows = await session.scalars(
        select(RecordService.service_id)
        .where(RecordService.record_id == record_id)
        .order_by(RecordService.position)
    )
    return list(rows)


async def details(
    session: AsyncSession, record: Record
) -> tuple[Staff, Position | None, list[tuple[RecordService, Service]]]:
    """What a record's view shows beyond the record: its member, their position, its services."""
    staff = await session.get(Staff, record.staff_id)
    assert staff is not None
    position = await session.get(Position, staff.position_id) if staff.position_id else None
    links = await session.execute(
        select(RecordService, Service)
        .join(Service, Service.id == RecordService.service_id)
        .where(RecordService.record_id == record.id)
        .order_by(RecordService.position)
    )
    return staff, position, [(link, service) for link, service in links]


def note_change(
    session: AsyncSession,
    record_id: int,
    actor: str,
    *,
    actor_id: int | None,
    action: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one entry to the record's history (who changed it, and what)."""
    session.add(change(record_id, actor, actor_id=actor_id, action=action, details=details))


def change(
    record_id: int,
    actor: str,
    *,
    actor_id: int | None,
    action: str,
    details: dict[str, Any] | None = None,
) -> RecordChange:
    """One entry of a record's history, not yet added."""
    return RecordChange(
        record_id=record_id, actor=actor, actor_id=actor_id, action=action, details=details or {}
    )


# Idempotency keys.


async def purge_keys(session: AsyncSession, before: datetime) -> None:
    await session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < before))


async def key_for_update(session: AsyncSession, digest: str) -> IdempotentRequest | None:
    return await session.scalar(
        select(IdempotentRequest).where(IdempotentRequest.key_digest == digest).with_for_update()
    )


async def add_key(session: AsyncSession, digest: str, fingerprint: str, now: datetime) -> None:
    session.add(IdempotentRequest(key_digest=digest, fingerprint=fingerprint, created_at=now))
    await session.flush()


async def store_answer(session: AsyncSession, digest: str, status_code: int, sealed: bytes) -> None:
    await session.execute(
        update(IdempotentRequest)
        .where(IdempotentRequest.key_digest == digest)
        .values(status_code=status_code, response=sealed)
    )


async def forget_unfinished_key(session: AsyncSession, digest: str) -> None:
    await session.execute(
        delete(IdempotentRequest).where(
            IdempotentRequest.key_digest == digest, IdempotentRequest.status_code.is_(None)
        )
    )


# Reminders.


async def claim_due_reminders(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    """Mark up to `limit` due reminders as sent now, in one conditional UPDATE, so that
    overlapping runs claim each reminder once; their record ids."""
    claimed = await session.scalars(
        update(Record)
        .where(
            Record.id.in_(
                select(Record.id)
                .where(Record.reminder_at <= now, Record.status == RECORD_ACTIVE)
                .order_by(Record.reminder_at)
                .limit(limit)
                .scalar_subquery()
            ),
            Record.reminder_at.is_not(None),
            Record.reminder_at <= now,
        )
        .values(reminder_at=None, reminded_at=now)
        .returning(Record.id)
    )
    return list(claimed)


async def records_with_locations(
    session: AsyncSession, record_ids: Sequence[int]
) -> list[tuple[Record, Location]]:
    rows = await session.execute(
        select(Record, Location)
        .join(Location, Location.id == Record.location_id)
        .where(Record.id.in_(record_ids))
    )
    return [(record, location) for record, location in rows]


async def unclaim_reminder(session: AsyncSession, record_id: int, claimed_at: datetime) -> None:
    """Put a claimed reminder back as due (its SMS failed), unless the record changed since."""
    await session.execute(
        update(Record)
        .where(
            Record.id == record_id,
            Record.reminded_at == claimed_at,
            Record.status == RECORD_ACTIVE,
        )
        .values(reminder_at=claimed_at, reminded_at=None)
    )


# Seats of group events.


async def seat_of_phone(session: AsyncSession, activity_id: int, phone: str) -> bool:
    """Whether `phone` holds an active booking of the session."""
    found = await session.scalar(
        select(Record.id).where(
            Record.activity_id == activity_id,
            Record.client_phone == phone,
            Record.status == RECORD_ACTIVE,
        )
    )
    return found is not None


async def add_seat_record(
    session: AsyncSession, record: Record, service: Service, length: int, cost: float
) -> None:
    """Insert a seat booking with the event's service; a second active booking of one phone
    for one session is refused by a unique index."""
    async with session.begin_nested():
        session.add(record)
        await session.flush()
        session.add(
            RecordService(
                record_id=record.id,
                service_id=service.id,
                position=0,
                duration_seconds=length,
                cost=cost,
            )
        )
        await session.flush()


# The booking's write transaction through SQLite's writer (`kit.sqlite_writer`): plain SQL on
# its `sqlite3` connection, each value encoded as the ORM encodes it.

RECORD_COLUMNS = (
    "location_id",
    "staff_id",
    "client_id",
    "starts_at",
    "ends_at",
    "status",
    "hash_digest",
    "client_phone",
    "client_name",
    "client_email",
    "comment",
    "api_id",
    "custom_fields",
    "master_requested",
    "online",
    "attendance",
    "notify_by_sms",
    "notify_by_email",
    "reminder_at",
    "reminded_at",
    "activity_id",
    "clients_count",
    "sequence",
    "created_at",
    "updated_at",
)
RECORD_INSERT = plain_insert_sql(Record.__table__, RECORD_COLUMNS, returning="id")
_record_values = sqlite_writer.encoder(Record.__table__, RECORD_COLUMNS)

RECORD_SERVICE_COLUMNS = ("record_id", "service_id", "position", "duration_seconds", "cost")
RECORD_SERVICE_INSERT = plain_insert_sql(RecordService.__table__, RECORD_SERVICE_COLUMNS)
_record_service_values = sqlite_writer.encoder(RecordService.__table__, RECORD_SERVICE_COLUMNS)

CHANGE_COLUMNS = ("record_id", "changed_at", "actor", "actor_id", "action", "details")
CHANGE_INSERT = plain_insert_sql(RecordChange.__table__, CHANGE_COLUMNS)
_change_values = sqlite_writer.encoder(RecordChange.__table__, CHANGE_COLUMNS)

# CLIENT_UPSERT as plain SQL (the same statement SQLAlchemy compiles for SQLite).
CLIENT_UPSERT_SQL = (
    "INSERT INTO clients (location_id, phone, name, email, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (location_id, phone) DO UPDATE SET name = excluded.name,"
    " email = CASE WHEN (excluded.email != '') THEN excluded.email ELSE clients.email END,"
    " updated_at = CASE WHEN (clients.name != excluded.name OR clients.email !="
    " CASE WHEN (excluded.email != '') THEN excluded.email ELSE clients.email END)"
    " THEN excluded.updated_at ELSE clients.updated_at END"
    " RETURNING id"
)
_client_values = sqlite_writer.encoder(
    Client.__table__, ("location_id", "phone", "name", "email", "created_at", "updated_at")
)
_BUSY_WITHIN = Statement(BUSY_WITHIN)

STORE_ANSWER_SQL = (
    "UPDATE idempotent_requests SET status_code = ?, response = ? WHERE key_digest = ?"
)


@cache
def _busy_within_one() -> tuple[str, tuple[str, ...], dict[str, Any], dict[str, Any]]:
    """BUSY_WITHIN compiled for SQLite with its member list expanded for one member, once
    (SQLAlchemy's expansion per call cost about 0.4 ms): the SQL, the names of its positional
    values, the constant values and the encoders of the others."""
    compiled = _BUSY_WITHIN.compiled(sqlite_writer.DIALECT)
    probe = datetime(2000, 1, 1, tzinfo=UTC)
    state = compiled.compiled.construct_expanded_state(
        {"staff_ids": [0], "earliest": probe, "start": probe, "end": probe}
    )
    assert state.positiontup is not None
    assert "staff_ids_1" in state.positiontup
    return state.statement, tuple(state.positiontup), dict(state.parameters), compiled.encoders


def busy_within_now(
    connection: sqlite3.Connection, staff_id: int, start: datetime, end: datetime
) -> bool:
    """`busy_within` on the writer's connection (the same SQL and encoding)."""
    sql, names, constants, encoders = _busy_within_one()
    values = {
        **constants,
        "staff_ids_1": staff_id,
        "earliest": start - timedelta(seconds=busy.MAX_BUSY_SECONDS),
        "start": start,
        "end": end,
    }
    arguments = [
        encoders[name](values[name]) if name in encoders else values[name] for name in names
    ]
    return connection.execute(sql, arguments).fetchone() is not None


def upsert_client(connection: sqlite3.Connection, client: Client) -> int:
    """CLIENT_UPSERT on the writer's connection: the client's id."""
    (client_id,) = connection.execute(CLIENT_UPSERT_SQL, _client_values(client)).fetchone()
    return int(client_id)


def insert_record(
    connection: sqlite3.Connection, record: Record, links: Sequence[RecordService]
) -> int:
    """`add_record` on the writer's connection (no overlap check: SQLite's writers are serial
    and the caller re-checked the times); the record's id, also set on `record` and `links`."""
    (record_id,) = connection.execute(RECORD_INSERT, _record_values(record)).fetchone()
    fill(record, id=record_id)
    for link in links:
        fill(link, record_id=record_id)
    connection.executemany(RECORD_SERVICE_INSERT, [_record_service_values(x) for x in links])
    return int(record_id)


def insert_changes(connection: sqlite3.Connection, changes: Sequence[RecordChange]) -> None:
    connection.executemany(CHANGE_INSERT, [_change_values(change) for change in changes])


def store_answer_now(
    connection: sqlite3.Connection, digest: str, status_code: int, sealed: bytes
) -> None:
    """`store_answer` on the writer's connection."""
    connection.execute(STORE_ANSWER_SQL, (status_code, sealed, digest))


# The same booking's write on PostgreSQL: the same rows in one statement on the session's own
# asyncpg connection (`UnitOfWork.statement_connection`), which commits by itself.

# The count is written into the statement (one per count, at most MAX_APPOINTMENTS): bound as
# a parameter, it made PostgreSQL plan the statement at every call (a custom plan each time,
# as `pg_prepared_statements` counts them); a statement without parameters is planned once.
_RECORD_IDS_PG = (
    "SELECT nextval(pg_get_serial_sequence('records', 'id')) FROM generate_series(1, {:d})"
)
_RECORD_COLUMNS_PG = ("id", *RECORD_COLUMNS)
_CLIENT_AT = _RECORD_COLUMNS_PG.index("client_id")
_RECORDS_HEAD_PG = insert_head(Record.__table__, _RECORD_COLUMNS_PG)
_record_values_pg = encoder(Record.__table__, _RECORD_COLUMNS_PG, PG_DIALECT)
_SERVICES_HEAD_PG = insert_head(RecordService.__table__, RECORD_SERVICE_COLUMNS)
_record_service_values_pg = encoder(RecordService.__table__, RECORD_SERVICE_COLUMNS, PG_DIALECT)
_CHANGES_HEAD_PG = insert_head(RecordChange.__table__, CHANGE_COLUMNS)
_change_values_pg = encoder(RecordChange.__table__, CHANGE_COLUMNS, PG_DIALECT)

# The members' advisory locks (MEMBER_LOCK, in the order given), then the client (the
# CLIENT_UPSERT, its values selected from the locks), whose id the records take: the records'
# exclusion constraint is checked only after the locks are held.
_CLIENT_INSERT, _, _CLIENT_CONFLICT = CLIENT_UPSERT_SQL.partition(" VALUES (?, ?, ?, ?, ?, ?)")
_LOCKED_PG = (
    "WITH locked AS (SELECT pg_advisory_xact_lock(9, key) FROM unnest($1::integer[]) AS key)"
)
_BOOKING_HEAD_PG = (
    f"{_LOCKED_PG}, client AS ({_CLIENT_INSERT}"  # noqa: S608 - constant SQL
    " SELECT $2, $3, $4, $5, $6, $6 WHERE (SELECT count(*) FROM locked) >= 0"
    f"{_CLIENT_CONFLICT})"
)
_BOOKING_HEAD_VALUES = 6
_ANSWER_PG = (
    "UPDATE idempotent_requests SET status_code = ${}, response = ${} WHERE key_digest = ${}"
)
# A numbered booking's record takes its id from the sequence in the statement itself: the
# first column of the record's row, and of its services' and history's rows.
_NEW_ID_PG = ", new_id AS (SELECT nextval(pg_get_serial_sequence('records', 'id')) AS id)"
_NEW_ID = "(SELECT id FROM new_id)"


@cache
def _booking_sql(
    records: int, parts: tuple[tuple[str, int, int], ...], answer: bool, numbered: bool
) -> str:
    """The booking's statement for `records` records and `parts`, each an `Insert` with rows
    as `(head, columns, rows)`, the Idempotency-Key's answer last when `answer`; `numbered`:
    one record, its id (each row's first column) made here and returned after the client's."""
    sql = [_BOOKING_HEAD_PG, _NEW_ID_PG if numbered else ""]
    own = {0: _NEW_ID} if numbered else {}
    number = _BOOKING_HEAD_VALUES + 1
    fixed = {**own, _CLIENT_AT: "(SELECT id FROM client)"}
    rows = values_sql(len(_RECORD_COLUMNS_PG), records, number, fixed)
    sql.append(f", records AS ({_RECORDS_HEAD_PG} VALUES {rows})")
    number += (len(_RECORD_COLUMNS_PG) - len(fixed)) * records
    for index, (head, width, count) in enumerate(parts):
        sql.append(f", part{index} AS ({head} VALUES {values_sql(width, count, number, own)})")
        number += (width - len(own)) * count
    if answer:
        sql.append(f", answer AS ({_ANSWER_PG.format(number, number + 1, number + 2)})")
    sql.append(
        " SELECT id, (SELECT id FROM new_id) FROM client"
        if numbered
        else " SELECT id, NULL FROM client"
    )
    return "".join(sql)


async def new_record_ids_on(connection: DriverConnection, count: int) -> list[int]:
    """PostgreSQL: `count` new ids from the records' sequence, for `write_booking_on` (a
    booking's notices and answer name its records, and are written with them)."""
    return [int(row[0]) for row in await connection.fetch(_RECORD_IDS_PG.format(count), [])]


async def write_booking_on(
    connection: DriverConnection,
    *,
    client: Client,
    records: Sequence[Record],
    links: Sequence[Sequence[RecordService]],
    changes: Sequence[RecordChange],
    notices: Callable[[], Insert],
    answer: tuple[str, int, bytes] | None,
    numbered: bool = False,
) -> int:
    """A booking's write on PostgreSQL, as one statement (no BEGIN, no COMMIT, one round
    trip): the members' booking locks (`lock_members`), the client upsert, the records (their
    ids from `new_record_ids_on`) with their services, their history, their `notices` (the
    outbox rows) and, with an Idempotency-Key, the answer (`digest, status_code, sealed`). All
    of it is written or none: the exclusion constraint refuses an overlapping record
    (IntegrityError, as through the ORM; or a deadlock, see `kit.db.lost_race`). `notices`
    are built once the records are encoded, which gives them their Python defaults as the
    ORM's flush does. The client's id, also set on the records.

    `numbered`: one record, with no notice and no answer to write, which would name it: its
    id is taken from the sequence by the statement itself (no `new_record_ids_on` first) and
    set on the record and its services."""
    arguments: list[Any] = [
        sorted({record.staff_id % 2147483647 for record in records}),
        client.location_id,
        client.phone,
        client.name,
        client.email,
        client.created_at,
    ]
    first = 1 if numbered else 0  # the id, made by the statement
    for record in records:
        values = _record_values_pg(record)
        arguments += values[first:_CLIENT_AT] + values[_CLIENT_AT + 1 :]
    services = [_record_service_values_pg(link) for own in links for link in own]
    parts = (
        Insert(_SERVICES_HEAD_PG, services),
        Insert(_CHANGES_HEAD_PG, [_change_values_pg(change) for change in changes]),
        notices(),
    )
    if numbered and (len(records) != 1 or answer is not None or parts[2].rows):
        raise ValueError("a numbered booking has one record, and nothing else names it")
    for part in parts:
        for row in part.rows:
            arguments += row[first:]
    if answer is not None:
        digest, status_code, sealed = answer
        arguments += (status_code, sealed, digest)
    sql = _booking_sql(
        len(records),
        tuple((part.head, len(part.rows[0]), len(part.rows)) for part in parts if part.rows),
        answer is not None,
        numbered,
    )
    ((client_id, record_id),) = await connection.fetch(sql, arguments)
    for record in records:
        fill(record, client_id=client_id)
    if numbered:
        fill(records[0], id=record_id)
        for link in links[0]:
            fill(link, record_id=record_id)
    return int(client_id)
