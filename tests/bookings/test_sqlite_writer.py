"""SQLite: a booking's write transaction runs on the process's writer thread
(`kit.sqlite_writer`), in one hand-off, instead of through the ORM. It must store exactly what
the ORM path stores, keep the event loop free while another process holds the write lock, and
answer 503 (storing nothing) when the lock is held past the busy timeout."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import make_url, update

from openbooking.bookings import repository
from openbooking.kit import db, sqlite_writer
from openbooking.models import Location, OutboxMessage, Record, RecordChange, RecordService, Staff
from openbooking.notifications import repository as notifications_repository
from tests.bookings.helpers import CAMILLE, NY_PHONE, ny_booking, ny_service, record_count, slots
from tests.verification.conftest import NEW_YORK, Customer

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.config import Settings

pytestmark = [
    pytest.mark.usefixtures("demo", "clock"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


async def everyone_hears(session: AsyncSession) -> None:
    """Every notice a booking can write: customer e-mails, the reminder, the member's notice
    and a webhook."""
    await session.execute(
        update(Location)
        .where(Location.id == NEW_YORK)
        .values(
            webhooks=[{"url": "https://hooks.example.org/a"}],
            email_confirmation=True,
            email_reminders=True,
            email_staff_notices=True,
        )
    )
    await session.execute(update(Staff).where(Staff.id == CAMILLE).values(email="c@example.org"))


async def two_appointments(customer: Customer) -> dict[str, Any]:
    """A booking body using every field a booking stores: two appointments (the second for
    any member), custom fields in the body and in an appointment, notice settings."""
    service = await ny_service(customer)
    free = await slots(customer, NEW_YORK, CAMILLE, service)
    body = ny_booking(
        service,
        free[0],
        comment="by the window",
        api_id="ext-7",
        custom_fields={"source": "tests", "é": [1, 2.5, None]},
        notify_by_sms=3,
        notify_by_email=24,
    )
    body["appointments"].append(
        {
            "id": 9,
            "services": [service],
            "staff_id": 0,
            "datetime": free[-1],
            "custom_fields": {"room": "B"},
        }
    )
    return body


class Database:
    """The app's SQLite file read with plain sqlite3: rows as dicts."""

    def __init__(self, settings: Settings) -> None:
        self.path = make_url(settings.database_url).database or ""

    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        connection = sqlite3.connect(self.path)
        connection.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in connection.execute(sql, args)]
        finally:
            connection.close()

    def run(self, *statements: str) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None)
        try:
            for statement in statements:
                connection.execute(statement)
        finally:
            connection.close()


@pytest.fixture
def database(settings: Settings) -> Database:
    return Database(settings)


def stored(database: Database, record_ids: list[int]) -> dict[str, Any]:
    """Every row the booking of `record_ids` wrote, with its ids replaced by their order (ids,
    hashes and the webhook's event id necessarily differ between two bookings)."""
    order = {record_id: f"#{index}" for index, record_id in enumerate(record_ids)}
    marks = ",".join("?" * len(record_ids))

    def renamed(text: str) -> str:
        for record_id, mark in order.items():
            text = text.replace(f"record-{record_id}@", f"record-{mark}@")
            text = text.replace(f'"id": {record_id},', f'"id": "{mark}",')
        return text

    records = database.rows(f"SELECT * FROM records WHERE id IN ({marks}) ORDER BY id", *record_ids)
    for row in records:
        row["id"] = order[row.pop("id")]
        assert len(row.pop("hash_digest")) == 64
        row.pop("client_id")
    services = database.rows(
        f"SELECT * FROM record_services WHERE record_id IN ({marks}) ORDER BY record_id, position",
        *record_ids,
    )
    changes = database.rows(
        f"SELECT * FROM record_changes WHERE record_id IN ({marks}) ORDER BY id", *record_ids
    )
    outbox = database.rows(
        f"SELECT * FROM outbox WHERE record_id IN ({marks}) ORDER BY id", *record_ids
    )
    for row in [*services, *changes, *outbox]:
        row["record_id"] = order[row["record_id"]]
        row.pop("id", None)
    for row in outbox:
        payload = json.loads(renamed(row.pop("payload")))
        if row["channel"] == "webhook":
            assert payload.pop("id").startswith("evt_")
        row["payload"] = payload
    clients = database.rows("SELECT * FROM clients WHERE phone = ?", NY_PHONE)
    for row in clients:
        row.pop("id")
    keys = database.rows("SELECT * FROM idempotent_requests WHERE status_code IS NOT NULL")
    for row in keys:
        row.pop("id"), row.pop("key_digest"), row.pop("response")
    return {
        "records": records,
        "record_services": services,
        "record_changes": changes,
        "outbox": outbox,
        "clients": clients,
        "idempotent_requests": keys,
    }


def forget(database: Database, record_ids: list[int]) -> None:
    ids = ",".join(map(str, record_ids))
    database.run(
        f"DELETE FROM outbox WHERE record_id IN ({ids})",
        f"DELETE FROM record_changes WHERE record_id IN ({ids})",
        f"DELETE FROM record_services WHERE record_id IN ({ids})",
        f"DELETE FROM records WHERE id IN ({ids})",
        f"DELETE FROM clients WHERE phone = '{NY_PHONE}'",
        "DELETE FROM idempotent_requests",
    )


class TestTheWriterStoresWhatTheOrmStores:
    @pytest.mark.parametrize(
        ("table", "columns"),
        [
            (Record.__table__, repository.RECORD_COLUMNS),
            (RecordService.__table__, repository.RECORD_SERVICE_COLUMNS),
            (RecordChange.__table__, repository.CHANGE_COLUMNS),
            (OutboxMessage.__table__, notifications_repository.OUTBOX_COLUMNS),
        ],
        ids=["records", "record_services", "record_changes", "outbox"],
    )
    def test_every_column_is_written(self, table: Any, columns: tuple[str, ...]) -> None:
        """A column added to the model later is written by the writer too, not left NULL."""
        assert set(columns) == {column.name for column in table.columns} - {"id"}

    async def test_every_column_of_every_row(
        self, customer: Customer, database: Database, run_in_session: Any, app: FastAPI
    ) -> None:
        await run_in_session(everyone_hears)
        body = await two_appointments(customer)
        answers, rows = [], []
        for key, path in (("orm-1", "orm"), ("writer-1", "writer")):
            if path == "orm":
                with pytest.MonkeyPatch.context() as patch:
                    patch.setattr(sqlite_writer, "of", lambda _engine: None)
                    answer = await customer.post(
                        f"/book_record/{NEW_YORK}", body, headers={"Idempotency-Key": key}
                    )
            else:
                answer = await customer.post(
                    f"/book_record/{NEW_YORK}", body, headers={"Idempotency-Key": key}
                )
            assert answer.status_code == 201, answer.text
            replay = await customer.post(
                f"/book_record/{NEW_YORK}", body, headers={"Idempotency-Key": key}
            )
            assert replay.headers["idempotent-replayed"] == "true"
            assert replay.content == answer.content  # the answer stored with the booking
            record_ids = [item["record_id"] for item in answer.json()["data"]]
            rows.append(stored(database, record_ids))
            forget(database, record_ids)
            answers.append(
                [
                    {**item, "record_id": None, "record_hash": len(item["record_hash"])}
                    for item in answer.json()["data"]
                ]
            )

        assert sqlite_writer.of(app.state.engine.sync_engine) is not None  # the second one's
        assert answers[0] == answers[1]
        assert {table: len(found) for table, found in rows[0].items()} == {
            "records": 2,
            "record_services": 2,
            "record_changes": 2,
            "outbox": 8,  # per record: confirmation, reminder, member's notice, webhook
            "clients": 1,
            "idempotent_requests": 1,
        }
        assert rows[0] == rows[1]


class TestAnotherProcessHoldingTheLock:
    async def test_the_event_loop_answers_while_a_booking_waits(
        self, customer: Customer, database: Database, app: FastAPI
    ) -> None:
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, CAMILLE, service))[2]
        holder = sqlite3.connect(database.path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # another process, writing
            booking = asyncio.create_task(
                customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, when))
            )
            turn = db.writer_queue(app.state.engine.sync_engine)
            for _ in range(10_000):  # until the booking waits for SQLite's lock
                if turn.locked():
                    break
                await asyncio.sleep(0)
            for _ in range(5):  # meanwhile the server keeps answering, reads included
                assert (await customer.get("/i18n/en-US")).status_code == 200
                read = await customer.get(f"/book_staff/{NEW_YORK}")
                assert read.status_code == 200, read.text
            assert turn.locked()
            assert not booking.done()
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        booked = await booking
        assert booked.status_code == 201, booked.text
        assert database.rows("SELECT count(*) AS n FROM records WHERE client_phone = ?", NY_PHONE)


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite gives up on a held write lock after 0.1 s instead of 5 s (set before the app)."""
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 100)


class TestTheLockHeldPastTheBusyTimeout:
    async def test_is_503_and_stores_nothing(
        self,
        short_busy_timeout: None,
        customer: Customer,
        database: Database,
        run_in_session: Any,
    ) -> None:
        await run_in_session(everyone_hears)
        service = await ny_service(customer)
        body = ny_booking(service, (await slots(customer, NEW_YORK, CAMILLE, service))[0])
        before = await run_in_session(record_count)
        outbox = database.rows("SELECT count(*) AS n FROM outbox")
        holder = sqlite3.connect(database.path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            busy = await customer.post(
                f"/book_record/{NEW_YORK}", body, headers={"Idempotency-Key": "k"}
            )
            holder.execute("ROLLBACK")
        finally:
            holder.close()

        assert busy.status_code == 503, busy.text
        assert busy.headers["retry-after"] == "1"
        assert busy.json()["success"] is False
        assert await run_in_session(record_count) == before
        assert database.rows("SELECT * FROM clients WHERE phone = ?", NY_PHONE) == []
        assert database.rows("SELECT count(*) AS n FROM outbox") == outbox
        # the key was released: the retry books
        again = await customer.post(
            f"/book_record/{NEW_YORK}", body, headers={"Idempotency-Key": "k"}
        )
        assert again.status_code == 201, again.text
        assert await run_in_session(record_count) == before + 1
