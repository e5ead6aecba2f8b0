"""`kit.fastread`: the hot reads give exactly what SQLAlchemy's own path gives, inside the
session's transaction, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, select, text
from sqlalchemy.exc import DBAPIError

from openbooking.kit import fastread
from openbooking.kit.db import UTCDateTime, create_sessionmaker

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession

metadata = MetaData()
moments = Table(
    "test_fastread_moments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=True),
    Column("label", String(20), nullable=False),
)
BETWEEN = fastread.Statement(
    select(moments.c.id, moments.c.at, moments.c.label)
    .where(
        moments.c.id.in_(bindparam("ids", expanding=True)),
        (moments.c.at >= bindparam("start")) | moments.c.at.is_(None),
    )
    .order_by(moments.c.id)
)
MISSING = fastread.Statement(
    select(Table("test_fastread_missing", MetaData(), Column("id", Integer)).c.id)
)

INSTANTS = [
    datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC),  # Berlin's spring-forward edge
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 30, tzinfo=timezone(timedelta(hours=2))),  # given with an offset
    datetime(2026, 12, 31, 23, 45, 0, 123, tzinfo=UTC),
    None,
]


@pytest.fixture
async def session(app: FastAPI) -> AsyncIterator[AsyncSession]:
    engine = app.state.engine
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)


async def insert(session: AsyncSession) -> None:
    await session.execute(
        moments.insert(),
        [{"id": n, "at": at, "label": f"m{n}"} for n, at in enumerate(INSTANTS, start=1)],
    )


async def decoded(session: AsyncSession, params: dict[str, Any]) -> list[Any]:
    """Every value of every row, decoded."""
    rows, decoders = await fastread.rows(session, BETWEEN, params)
    return [
        tuple(decode(value) for decode, value in zip(decoders, row, strict=True)) for row in rows
    ]


async def both(session: AsyncSession, params: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    fast = await decoded(session, params)
    orm = [tuple(row) for row in await session.execute(BETWEEN.statement, params)]
    return fast, orm


def shown(rows: list[Any]) -> list[Any]:
    """Values with their offsets: aware datetimes equal across zones would hide a difference."""
    return [[repr(value) for value in row] for row in rows]


async def test_rows_are_what_sqlalchemy_gives(session: AsyncSession) -> None:
    await insert(session)
    start = datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC)
    for ids in ([1], [1, 2, 3], [1, 2, 3, 4, 5], [5, 4, 99]):
        for _ in range(2):  # the second time from the memo of decoded datetimes
            fast, orm = await both(session, {"ids": ids, "start": start})
            assert shown(fast) == shown(orm)
    fast, _ = await both(session, {"ids": [1, 2, 3, 4, 5], "start": start})
    assert [row[0] for row in fast] == [1, 2, 3, 4, 5]
    assert fast[2][1] == datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    assert all(row[1] is None or row[1].tzinfo is UTC for row in fast)
    # a bound instant given in another zone means the same instant
    later = datetime(2026, 3, 29, 3, 0, tzinfo=timezone(timedelta(hours=2)))
    fast, orm = await both(session, {"ids": [1, 2, 3], "start": later})
    assert shown(fast) == shown(orm)
    assert [row[0] for row in fast] == [2, 3]


async def test_rows_see_the_transactions_own_writes(session: AsyncSession) -> None:
    await insert(session)  # not committed
    rows = await decoded(session, {"ids": [1, 2], "start": datetime(2000, 1, 1, tzinfo=UTC)})
    assert [row[0] for row in rows] == [1, 2]
    await session.rollback()
    rows = await decoded(session, {"ids": [1, 2], "start": datetime(2000, 1, 1, tzinfo=UTC)})
    assert rows == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL: timestamps
async def test_sqlite_values_written_by_hand_decode_as_sqlalchemy_decodes_them(
    session: AsyncSession,
) -> None:
    written = [
        "2026-12-01 10:00:00",
        "2026-12-01T10:00:00",
        "2026-12-01 10:00:00.5",
        "2026-12-01 12:00:00+02:00",
        "2026-12-01",
    ]
    for n, value in enumerate(written, start=1):
        await session.execute(
            text("INSERT INTO test_fastread_moments (id, at, label) VALUES (:id, :at, 'x')"),
            {"id": n, "at": value},
        )
    params = {"ids": list(range(1, 6)), "start": datetime(2000, 1, 1, tzinfo=UTC)}
    fast, orm = await both(session, params)
    assert shown(fast) == shown(orm)
    assert len(fast) == 5


async def test_a_read_that_would_begin_the_transaction_sees_every_commit(
    app: FastAPI, session: AsyncSession
) -> None:
    """The first read of a request sees what others committed just before, as a transaction
    begun by it would; on a SQLite file it begins none (nothing to roll back at the end)."""
    everything = {"ids": [1, 2, 3, 4, 5, 6], "start": datetime(2000, 1, 1, tzinfo=UTC)}
    sessions = create_sessionmaker(app.state.engine)
    async with sessions() as other:
        await insert(other)
        await other.commit()
    fast = await decoded(session, everything)
    sqlite = app.state.engine.dialect.name == "sqlite"
    assert session.in_transaction() is not sqlite
    if not sqlite:  # at READ COMMITTED, read alone, as in a new transaction: no BEGIN sent
        raw = await (await session.connection()).get_raw_connection()
        assert not raw.driver_connection.is_in_transaction()  # type: ignore[union-attr]
    await session.commit()
    orm = [tuple(row) for row in await session.execute(BETWEEN.statement, everything)]
    await session.commit()
    assert shown(fast) == shown(orm)
    async with sessions() as other:
        await other.execute(moments.insert(), [{"id": 6, "at": None, "label": "late"}])
        await other.execute(moments.delete().where(moments.c.id == 1))
        await other.commit()
    assert [row[0] for row in await decoded(session, everything)] == [2, 3, 4, 5, 6]
    await session.commit()
    # inside a transaction, the transaction's own view: its writes, not yet committed
    await session.execute(moments.delete().where(moments.c.id == 2))
    assert [row[0] for row in await decoded(session, everything)] == [3, 4, 5, 6]
    await session.rollback()
    assert [row[0] for row in await decoded(session, everything)] == [2, 3, 4, 5, 6]


async def test_a_failing_statement_is_a_database_error(session: AsyncSession) -> None:
    with pytest.raises(DBAPIError):
        await fastread.rows(session, MISSING, {})


def test_the_memo_of_datetimes_starts_over_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastread, "MEMO_SIZE", 3)
    decoder = fastread.Decoder(
        lambda raw: None if raw is None else datetime.fromisoformat(raw), remember=True
    )
    raws = [f"2026-12-0{day} 10:00:00.000000" for day in range(1, 8)]
    assert [decoder(raw) for raw in raws * 2] == [datetime.fromisoformat(raw) for raw in raws * 2]
    assert len(decoder.memo) <= 3
    assert decoder(None) is None


def test_bound_datetimes_are_sent_as_sqlalchemy_sends_them() -> None:
    """Encoded datetimes are remembered by value: an instant given in another zone is the same
    value, sent the same way, and a naive datetime is refused every time."""
    from sqlalchemy.dialects import sqlite  # noqa: PLC0415

    dialect = sqlite.dialect()
    compiled = BETWEEN.compiled(dialect)
    encode = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert encode is not None
    utc = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    for start in (utc, utc.astimezone(timezone(timedelta(hours=2))), utc, INSTANTS[0], utc):
        _, values = compiled.arguments({"ids": [1, 2], "start": start})
        assert values == [1, 2, encode(start)]
    for _ in range(2):
        with pytest.raises(ValueError, match="naive"):
            compiled.arguments({"ids": [1], "start": datetime(2026, 10, 25, 0, 30)})  # noqa: DTZ001
