"""PostgreSQL: a booking without an SMS code writes its transaction on the session's own
asyncpg connection (`kit.db.DriverConnection`) instead of through the ORM. It must store
exactly what the ORM path stores, answer an Idempotency-Key's replay the same, and still be
refused by the exclusion constraint (433, nothing stored) when another booking took the time
between the plan and the write."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import text

from openbooking.bookings import repository, service
from openbooking.kit.db import reads_committed
from tests.bookings.helpers import (
    CAMILLE,
    NY_PHONE,
    error,
    lock_waiters,
    ny_booking,
    ny_service,
    overlapping_pairs,
    record_count,
    slots,
)
from tests.bookings.test_sqlite_writer import everyone_hears, two_appointments
from tests.verification.conftest import NEW_YORK, Customer

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.kit.db import DriverConnection

pytestmark = [
    pytest.mark.usefixtures("demo", "clock"),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


async def rows_of(session: AsyncSession, sql: str, **values: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in (await session.execute(text(sql), values)).mappings()]


def stored(record_ids: list[int]) -> Any:
    """Every row the booking of `record_ids` wrote, with its ids replaced by their order (ids,
    hashes and the webhook's event id necessarily differ between two bookings)."""
    order = {record_id: f"#{index}" for index, record_id in enumerate(record_ids)}

    def renamed(value: Any) -> Any:
        serialized = json.dumps(value)
        for record_id, mark in order.items():
            serialized = serialized.replace(f"record-{record_id}@", f"record-{mark}@")
            serialized = serialized.replace(f'"id": {record_id},', f'"id": "{mark}",')
        return json.loads(serialized)

    async def read(session: AsyncSession) -> dict[str, Any]:
        ids = {"ids": record_ids}
        records = await rows_of(
            session, "SELECT * FROM records WHERE id = ANY(:ids) ORDER BY id", **ids
        )
        for row in records:
            row["id"] = order[row.pop("id")]
            assert len(row.pop("hash_digest")) == 64
            row.pop("client_id")
        services = await rows_of(
            session,
            "SELECT * FROM record_services WHERE record_id = ANY(:ids)"
            " ORDER BY record_id, position",
            **ids,
        )
        changes = await rows_of(
            session, "SELECT * FROM record_changes WHERE record_id = ANY(:ids) ORDER BY id", **ids
        )
        outbox = await rows_of(
            session, "SELECT * FROM outbox WHERE record_id = ANY(:ids) ORDER BY id", **ids
        )
        for row in [*services, *changes, *outbox]:
            row["record_id"] = order[row["record_id"]]
            row.pop("id", None)
        for row in outbox:
            payload = renamed(row.pop("payload"))
            if row["channel"] == "webhook":
                assert payload.pop("id").startswith("evt_")
            row["payload"] = payload
        clients = await rows_of(
            session, "SELECT * FROM clients WHERE phone = :phone", phone=NY_PHONE
        )
        for row in clients:
            row.pop("id")
        keys = await rows_of(
            session, "SELECT * FROM idempotent_requests WHERE status_code IS NOT NULL"
        )
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

    return read


async def reads_committed_now(session: AsyncSession) -> bool:
    await session.execute(text("SELECT 1"))
    return reads_committed(session)


def forget(record_ids: list[int]) -> Any:
    async def run(session: AsyncSession) -> None:
        ids = {"ids": record_ids}
        for table in ("outbox", "record_changes", "record_services"):
            await session.execute(text(f"DELETE FROM {table} WHERE record_id = ANY(:ids)"), ids)
        await session.execute(text("DELETE FROM records WHERE id = ANY(:ids)"), ids)
        await session.execute(text("DELETE FROM clients WHERE phone = :phone"), {"phone": NY_PHONE})
        await session.execute(text("DELETE FROM idempotent_requests"))

    return run


class TestTheDriverPathStoresWhatTheOrmStores:
    @pytest.mark.parametrize("numbered", [False, True], ids=["ids-first", "numbered"])
    async def test_every_column_of_every_row(
        self, customer: Customer, run_in_session: Any, numbered: bool
    ) -> None:
        """Everything a booking can write (two records, every notice, the Idempotency-Key's
        answer: the ids taken first), or a booking of one record that nothing names, which
        the statement numbers itself (no round trip for the ids)."""
        if numbered:
            full = await two_appointments(customer)
            body = {**full, "appointments": full["appointments"][:1], "notify_by_email": 0}
        else:
            await run_in_session(everyone_hears)
            body = await two_appointments(customer)
        used: list[bool] = []
        driver_path, ids_first = service._write_at_once_pg, repository.new_record_ids_on
        asked: list[int] = []

        async def spied(*args: Any, **kwargs: Any) -> Any:
            used.append(True)
            return await driver_path(*args, **kwargs)

        async def ids_spied(connection: DriverConnection, count: int) -> list[int]:
            asked.append(count)
            return await ids_first(connection, count)

        answers, rows = [], []
        for key, path in (("orm-1", "orm"), ("driver-1", "driver")):
            headers = {} if numbered else {"Idempotency-Key": key}
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(service, "_write_at_once_pg", spied)
                patch.setattr(repository, "new_record_ids_on", ids_spied)
                if path == "orm":
                    patch.setattr(service, "_on_postgresql", lambda _session: False)
                answer = await customer.post(f"/book_record/{NEW_YORK}", body, headers=headers)
            assert answer.status_code == 201, answer.text
            assert used == ([] if path == "orm" else [True])
            if not numbered:
                replay = await customer.post(f"/book_record/{NEW_YORK}", body, headers=headers)
                assert replay.headers["idempotent-replayed"] == "true"
                assert replay.content == answer.content  # the answer stored with the booking
            record_ids = [item["record_id"] for item in answer.json()["data"]]
            rows.append(await run_in_session(stored(record_ids)))
            await run_in_session(forget(record_ids))
            answers.append(
                [
                    {**item, "record_id": None, "record_hash": len(item["record_hash"])}
                    for item in answer.json()["data"]
                ]
            )

        assert answers[0] == answers[1]
        assert await run_in_session(reads_committed_now)  # the write went on in the plan's
        assert {table: len(found) for table, found in rows[0].items()} == (
            {
                "records": 1,
                "record_services": 1,
                "record_changes": 1,
                "outbox": 0,
                "clients": 1,
                "idempotent_requests": 0,
            }
            if numbered
            else {
                "records": 2,
                "record_services": 2,
                "record_changes": 2,
                "outbox": 8,  # per record: confirmation, reminder, member's notice, webhook
                "clients": 1,
                "idempotent_requests": 1,
            }
        )
        assert rows[0] == rows[1]
        assert asked == ([] if numbered else [2])  # the ORM path takes no ids this way


class TestATimeTakenBetweenThePlanAndTheWrite:
    @pytest.mark.parametrize("appointments", [1, 2])
    async def test_the_exclusion_constraint_refuses_it(
        self,
        customer: Customer,
        run_in_session: Any,
        monkeypatch: pytest.MonkeyPatch,
        appointments: int,
    ) -> None:
        """Another booking of the same time commits after this one's plan read the time free:
        the constraint refuses this one's record (433 naming the appointment, its last of
        one or two, as through the ORM), and nothing of it stays (no record, no client, no
        outbox row), its Idempotency-Key answering the same 433."""
        await run_in_session(everyone_hears)
        service_id = await ny_service(customer)
        free = await slots(customer, NEW_YORK, CAMILLE, service_id)
        when = free[-1]
        body = ny_booking(service_id, when)
        if appointments == 2:
            first = {"id": 7, "services": [service_id], "staff_id": CAMILLE, "datetime": free[0]}
            body["appointments"][0]["id"] = 8
            body["appointments"].insert(0, first)
        other = {**ny_booking(service_id, when), "phone": "+12125550199", "fullname": "Ada"}
        new_ids = repository.new_record_ids_on
        raced: list[int] = []
        taken_id: list[int] = []

        async def first_another_booking(connection: DriverConnection, count: int) -> list[int]:
            if not raced:
                raced.append(1)
                with monkeypatch.context() as inner:  # the other booking takes the time now
                    inner.setattr(repository, "new_record_ids_on", new_ids)
                    taken = await customer.post(f"/book_record/{NEW_YORK}", other)
                assert taken.status_code == 201, taken.text
                taken_id.append(taken.json()["data"][0]["record_id"])
            return await new_ids(connection, count)

        monkeypatch.setattr(repository, "new_record_ids_on", first_another_booking)
        before = await run_in_session(record_count)
        outbox = await run_in_session(lambda s: rows_of(s, "SELECT count(*) AS n FROM outbox"))
        refused = await customer.post(
            f"/book_record/{NEW_YORK}", body, headers={"Idempotency-Key": "r"}
        )

        assert error(refused, 422, 433)["id"] == body["appointments"][-1]["id"]
        assert raced == [1]
        assert await run_in_session(record_count) == before + 1  # the other booking's only
        assert await run_in_session(overlapping_pairs) == []
        assert (
            await run_in_session(
                lambda s: rows_of(s, "SELECT * FROM clients WHERE phone = :p", p=NY_PHONE)
            )
            == []
        )
        notices = await run_in_session(
            lambda s: rows_of(
                s, "SELECT DISTINCT record_id FROM outbox WHERE record_id IS NOT NULL"
            )
        )
        assert outbox[0]["n"] == 0
        assert notices == [{"record_id": taken_id[0]}]  # the other booking's notices only
        replay = await customer.post(
            f"/book_record/{NEW_YORK}", body, headers={"Idempotency-Key": "r"}
        )
        assert replay.headers["idempotent-replayed"] == "true"
        assert (replay.status_code, replay.content) == (refused.status_code, refused.content)


class TestTheMembersLock:
    async def test_a_booking_waits_for_another_holding_its_members_lock(
        self, app: FastAPI, customer: Customer
    ) -> None:
        """The one statement takes the member's booking lock (`MEMBER_LOCK`) before it writes:
        while another transaction holds it (a booking of the same member being written), this
        booking waits, and goes on once that one ends."""
        service_id = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, CAMILLE, service_id))[0]
        async with app.state.engine.connect() as other:
            await other.execute(repository.MEMBER_LOCK, {"key": CAMILLE})
            booking = asyncio.create_task(
                customer.post(f"/book_record/{NEW_YORK}", ny_booking(service_id, when))
            )
            for _ in range(500):
                if await lock_waiters(app, "advisory") or booking.done():
                    break
                await asyncio.sleep(0.01)
            assert not booking.done(), booking.result().text
            assert await lock_waiters(app, "advisory") == 1
            await other.rollback()  # the other transaction ends: its lock is released
        answer = await booking
        assert answer.status_code == 201, answer.text
