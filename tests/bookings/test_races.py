"""Races around one member's time (T22), one SMS code (T5) and a real two-worker server (T20,
T21), on SQLite and PostgreSQL.

In-process races run the requests with `asyncio.gather`, each on its own database connection,
and nothing orders them but the database; how they interleave varies from run to run, so they
show a missing guard often rather than always. The two-worker server test of T20 (separate
processes, separate pools) showed a dropped exclusion constraint in every run we tried. After
every race the stored records are checked with `overlapping_pairs`, a self-join over what the
database holds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from openbooking.models import Record
from openbooking.models.records import RECORD_ACTIVE, RECORD_CANCELLED
from tests.bookings.helpers import (
    CAMILLE,
    error,
    ny_booking,
    ny_service,
    overlapping_pairs,
    slots,
    user_token,
)
from tests.conftest import free_port
from tests.verification.conftest import BERLIN, NEW_YORK, PHONE, Customer, code_in

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.config import Settings

LENA = 201  # Berlin: Tue-Sat; Haircut & blow-dry (101) takes her 45 minutes
HAIRCUT = 101


def at(value: str) -> datetime:
    """An instant as the API writes it (book_times, a record), comparable across offsets."""
    return datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class Stored:
    id: int
    starts_at: datetime
    status: str


async def stored(session: AsyncSession) -> list[Stored]:
    records = await session.scalars(select(Record).order_by(Record.id))
    return [Stored(r.id, r.starts_at, r.status) for r in records]


async def book(customer: Customer, service: int, when: str, phone: str = PHONE) -> dict[str, Any]:
    response = await customer.post(
        f"/book_record/{NEW_YORK}", {**ny_booking(service, when), "phone": phone}
    )
    assert response.status_code == 201, response.text
    return dict(response.json()["data"][0])


async def read(customer: Customer, booked: dict[str, Any]) -> dict[str, Any]:
    response = await customer.get(
        f"/book_record/{NEW_YORK}/{booked['record_id']}/{booked['record_hash']}"
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def stranger(n: int, service: int, when: str) -> dict[str, Any]:
    """A booking by the n-th of many different customers (so only the slot is shared)."""
    return ny_booking(service, when, phone=f"+1212555{100 + n:04d}")


async def warm_up(customer: Customer) -> None:
    """Open the app's pooled connections (five) with concurrent reads, so that no racer
    starts later than the others because it has to connect first."""
    answers = await asyncio.gather(*(customer.get(f"/book_staff/{NEW_YORK}") for _ in range(5)))
    assert {answer.status_code for answer in answers} == {200}


def later(slot: str, minutes: int) -> str:
    return (at(slot) + timedelta(minutes=minutes)).isoformat()


def target_with_overlap(free: list[str], minutes: int) -> str:
    """A free slot, well after the first ones, whose start + `minutes` is free too."""
    listed = {at(slot) for slot in free}
    return next(slot for slot in free[8:] if at(slot) + timedelta(minutes=minutes) in listed)


@pytest.mark.usefixtures("demo", "clock")
class TestRescheduleRaces:
    """T22: PUT /book_record/{location}/{id} (user token) against book_record, other PUTs and a
    cancel. Camille's Haircut & style takes 45 minutes and her slots are 30 minutes apart, so a
    start 30 minutes later overlaps by 15 minutes."""

    @pytest.mark.parametrize("offset", [0, 30], ids=["same-start", "partial-overlap"])
    async def test_t22_reschedule_against_new_bookings(
        self, customer: Customer, outbox: Any, run_in_session: Any, offset: int
    ) -> None:
        """One customer moves their visit to a free slot while five others book it (or a
        start that overlaps it): exactly one of the six gets it."""
        service = await ny_service(customer)
        free = await slots(customer, NEW_YORK, CAMILLE, service)
        token = await user_token(customer, outbox)
        mine = await book(customer, service, free[0])
        target = target_with_overlap(free, offset)
        rival = later(target, offset)
        await warm_up(customer)
        moved, *booked = await asyncio.gather(
            customer.put(
                f"/book_record/{NEW_YORK}/{mine['record_id']}", {"datetime": target}, user=token
            ),
            *(
                customer.post(f"/book_record/{NEW_YORK}", stranger(n, service, rival))
                for n in range(5)
            ),
        )

        statuses = [moved.status_code] + [answer.status_code for answer in booked]
        assert statuses.count(200) + statuses.count(201) == 1, statuses
        assert statuses.count(422) == 5, statuses
        for answer in (moved, *booked):
            if answer.status_code == 422:
                error(answer, 422, 433)
        records = await run_in_session(stored)
        if moved.status_code == 200:
            assert at(moved.json()["data"]["datetime"]) == at(target)
            assert records == [Stored(mine["record_id"], at(target), RECORD_ACTIVE)]
            listed = {at(s) for s in await slots(customer, NEW_YORK, CAMILLE, service)}
            assert at(free[0]) in listed, "the old time is free again"
        else:
            (winner,) = [a for a in booked if a.status_code == 201]
            assert records == [
                Stored(mine["record_id"], at(free[0]), RECORD_ACTIVE),
                Stored(winner.json()["data"][0]["record_id"], at(rival), RECORD_ACTIVE),
            ]
            assert at((await read(customer, mine))["datetime"]) == at(free[0])
        assert await run_in_session(overlapping_pairs) == []

    @pytest.mark.parametrize("offset", [0, 30], ids=["same-start", "partial-overlap"])
    async def test_t22_reschedules_into_one_slot(
        self, customer: Customer, outbox: Any, run_in_session: Any, offset: int
    ) -> None:
        """Four visits moved at once into one slot (or, every other one, into a start that
        overlaps it): one moves, the others are refused and keep their old time."""
        service = await ny_service(customer)
        free = await slots(customer, NEW_YORK, CAMILLE, service)
        token = await user_token(customer, outbox)
        old = free[0:8:2]
        records = [await book(customer, service, when) for when in old]
        target = target_with_overlap(free, offset)
        wanted = [later(target, offset * (n % 2)) for n in range(len(records))]
        await warm_up(customer)
        answers = await asyncio.gather(
            *(
                customer.put(
                    f"/book_record/{NEW_YORK}/{record['record_id']}", {"datetime": when}, user=token
                )
                for record, when in zip(records, wanted, strict=True)
            )
        )

        statuses = [answer.status_code for answer in answers]
        assert sorted(statuses) == [200, 422, 422, 422], statuses
        winner = statuses.index(200)
        expected = []
        for n, (record, answer) in enumerate(zip(records, answers, strict=True)):
            when = wanted[n] if n == winner else old[n]
            if n != winner:
                error(answer, 422, 433)
            expected.append(Stored(record["record_id"], at(when), RECORD_ACTIVE))
            assert at((await read(customer, record))["datetime"]) == at(when)
        assert await run_in_session(stored) == expected
        assert await run_in_session(overlapping_pairs) == []

    @pytest.mark.parametrize("first", ["cancel", "reschedule"])
    async def test_t22_cancel_against_a_reschedule(
        self, customer: Customer, outbox: Any, run_in_session: Any, first: str
    ) -> None:
        """The record ends cancelled, at the time the answers say: the new time when the
        reschedule answered 200, else the old one. Both times are free again."""
        service = await ny_service(customer)
        free = await slots(customer, NEW_YORK, CAMILLE, service)
        token = await user_token(customer, outbox)
        mine = await book(customer, service, free[0])
        target = free[8]
        cancel = customer.send(
            "DELETE", f"/user/records/{mine['record_id']}/{mine['record_hash']}", None
        )
        move = customer.put(
            f"/book_record/{NEW_YORK}/{mine['record_id']}", {"datetime": target}, user=token
        )
        await warm_up(customer)
        if first == "cancel":
            cancelled, moved = await asyncio.gather(cancel, move)
        else:
            moved, cancelled = await asyncio.gather(move, cancel)

        assert cancelled.status_code == 200, cancelled.text
        assert moved.status_code in {200, 403}, moved.text
        if moved.status_code == 200:
            where = target
            assert at(moved.json()["data"]["datetime"]) == at(target)
        else:
            where = free[0]
            assert moved.json()["success"] is False
        assert await run_in_session(stored) == [
            Stored(mine["record_id"], at(where), RECORD_CANCELLED)
        ]
        record = await read(customer, mine)
        assert record["deleted"] is True
        assert at(record["datetime"]) == at(where)
        listed = {at(s) for s in await slots(customer, NEW_YORK, CAMILLE, service)}
        assert {at(free[0]), at(target)} <= listed
        assert await run_in_session(overlapping_pairs) == []


def berlin_booking(code: str, when: str) -> dict[str, Any]:
    return {
        "phone": PHONE,
        "fullname": "Ada Lovelace",
        "code": code,
        "appointments": [{"id": 1, "services": [HAIRCUT], "staff_id": LENA, "datetime": when}],
    }


def apart(free: list[str], minutes: int) -> list[str]:
    """Slots from `free` that do not overlap each other, for visits of `minutes`."""
    chosen: list[str] = []
    for slot in free:
        if not chosen or at(slot) >= at(chosen[-1]) + timedelta(minutes=minutes):
            chosen.append(slot)
    return chosen


@pytest.mark.usefixtures("demo", "clock")
class TestOneCodeBooksOnce:
    """T5 for book_record: Berlin confirms phones with an SMS code."""

    @pytest.mark.parametrize("parallel", [8, 20])
    async def test_t5_one_code_for_many_free_slots(
        self,
        customer: Customer,
        outbox: Any,
        run_in_session: Any,
        settings: Settings,
        parallel: int,
    ) -> None:
        free = apart(await slots(customer, BERLIN, LENA, HAIRCUT, "2026-12-03"), 45)
        free += apart(await slots(customer, BERLIN, LENA, HAIRCUT, "2026-12-04"), 45)
        assert len(free) >= parallel, "enough free slots that no two overlap"
        assert (await customer.post(f"/book_code/{BERLIN}", {"phone": PHONE})).status_code == 201
        code = code_in(outbox(PHONE)[-1])
        bodies = [berlin_booking(code, when) for when in free[:parallel]]
        answers = await asyncio.gather(
            *(customer.post(f"/book_record/{BERLIN}", body) for body in bodies)
        )

        statuses = [answer.status_code for answer in answers]
        assert statuses.count(201) == 1, statuses
        # The checks are serial per phone, so the failures count up one by one; once the
        # phone's hourly failure budget is spent, the rest are throttled (429) unchecked.
        rejected = min(parallel - 1, settings.phone_failures_per_hour)
        assert statuses.count(422) == rejected, statuses
        assert statuses.count(429) == parallel - 1 - rejected, statuses
        for answer in answers:
            if answer.status_code == 422:
                error(answer, 422, 432)
        winner = statuses.index(201)
        (created,) = answers[winner].json()["data"]
        when = bodies[winner]["appointments"][0]["datetime"]
        assert await run_in_session(stored) == [
            Stored(created["record_id"], at(when), RECORD_ACTIVE)
        ]
        again = await customer.post(f"/book_record/{BERLIN}", bodies[winner - 1])
        if rejected < settings.phone_failures_per_hour:
            error(again, 422, 432)  # the code is spent
        else:
            assert again.status_code == 429
        assert len(await run_in_session(stored)) == 1


@pytest.mark.usefixtures("demo", "clock")
class TestNewCustomerRaces:
    async def test_one_new_customer_books_four_free_slots_at_once(
        self, customer: Customer, run_in_session: Any
    ) -> None:
        """Four bookings by a phone the location has not seen, sent at once (a family booking
        from several tabs): every slot is free, so every one is booked, under one client."""
        service = await ny_service(customer)
        free = await slots(customer, NEW_YORK, CAMILLE, service)
        await warm_up(customer)
        answers = await asyncio.gather(
            *(customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, w)) for w in free[:8:2])
        )
        assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]

        async def clients(session: AsyncSession) -> set[int | None]:
            return set((await session.scalars(select(Record.client_id))).all())

        assert len(await run_in_session(clients)) == 1
        assert await run_in_session(overlapping_pairs) == []


@pytest.mark.usefixtures("demo", "clock")
class TestInvariantQuery:
    async def test_it_finds_a_planted_overlap(
        self, customer: Customer, run_in_session: Any, database_url: str
    ) -> None:
        """The query the race tests rely on does see overlaps. PostgreSQL refuses to store
        one at all (its exclusion constraint), so there only the refusal is checked."""
        service = await ny_service(customer)
        free = await slots(customer, NEW_YORK, CAMILLE, service)
        await book(customer, service, free[0])

        async def plant(session: AsyncSession) -> None:
            original = await session.scalar(select(Record))
            assert original is not None
            session.add(
                Record(
                    location_id=original.location_id,
                    staff_id=original.staff_id,
                    starts_at=original.starts_at + timedelta(minutes=30),
                    ends_at=original.ends_at + timedelta(minutes=30),
                    status=RECORD_ACTIVE,
                    hash_digest="0" * 64,
                )
            )

        if database_url.startswith("postgresql"):
            with pytest.raises(IntegrityError):
                await run_in_session(plant)
            assert await run_in_session(overlapping_pairs) == []
        else:
            await run_in_session(plant)
            assert len(await run_in_session(overlapping_pairs)) == 1


# ------------------------------------------------------------------- a real two-worker server

STARTUP_SECONDS = 60


@dataclass(slots=True)
class Server:
    api: Customer
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
async def server(
    settings: Settings, partner_token: str, demo: None, tmp_path: Path
) -> AsyncIterator[Server]:
    """`openbooking serve --workers 2` on a free loopback port, against the test database; ready
    once both workers have started and the API answers. Always stopped, with its workers."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPENBOOKING_")}
    env |= {
        "OPENBOOKING_DATABASE_URL": settings.database_url,
        "OPENBOOKING_VAR_DIR": str(settings.var_dir),
        "OPENBOOKING_LOG_LEVEL": "INFO",
    }
    log = tmp_path / "server.log"
    with log.open("w") as sink:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "openbooking", "serve"),
            *("--port", str(port), "--workers", "2"),
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers are stopped with it
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            running = Server(Customer(http, partner_token), log)
            await _wait_until_ready(process, running)
            yield running
    finally:
        await _stop(process)


async def _wait_until_ready(process: asyncio.subprocess.Process, server: Server) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_SECONDS
    while True:
        assert process.returncode is None, f"the server exited:\n{server.output()}"
        assert loop.time() < deadline, f"the server did not start:\n{server.output()}"
        if server.output().count("Application startup complete.") >= 2:
            try:
                if (await server.api.get("/bookform/1")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
        await asyncio.sleep(0.1)  # a polling interval, not a wait for something to happen


async def _stop(process: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return  # the server and its workers are gone already
    try:
        await asyncio.wait_for(process.wait(), timeout=30)
    except TimeoutError:
        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def bookable_days(api: Customer, service: int) -> list[str]:
    """Camille's bookable days from two days ahead on (real time: a process has no frozen
    clock), so that no slot is near the location's minimum notice."""
    response = await api.get(
        f"/book_dates/{NEW_YORK}", params={"staff_id": CAMILLE, "service_ids": service}
    )
    assert response.status_code == 200, response.text
    soon = datetime.now(ZoneInfo("America/New_York")).date() + timedelta(days=2)
    days = [day for day in response.json()["data"]["booking_dates"] if day >= soon.isoformat()]
    assert len(days) >= 2, response.text
    return days


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
class TestTwoWorkerServer:
    """T20 and T21 through `openbooking serve --workers 2` on PostgreSQL: two processes, each
    with its own connection pool, so only the database can keep the slot single."""

    async def test_t20_twenty_customers_one_slot(self, server: Server, run_in_session: Any) -> None:
        service = await ny_service(server.api)
        day = (await bookable_days(server.api, service))[0]
        when = (await slots(server.api, NEW_YORK, CAMILLE, service, day))[0]
        answers = await asyncio.gather(
            *(
                server.api.post(f"/book_record/{NEW_YORK}", stranger(n, service, when))
                for n in range(20)
            )
        )

        statuses = [answer.status_code for answer in answers]
        assert statuses.count(201) == 1, statuses
        assert statuses.count(422) == 19, statuses
        for answer in answers:
            if answer.status_code == 422:
                error(answer, 422, 433)
        (created,) = answers[statuses.index(201)].json()["data"]
        assert await run_in_session(stored) == [
            Stored(created["record_id"], at(when), RECORD_ACTIVE)
        ]
        assert await run_in_session(overlapping_pairs) == []
        assert "Traceback" not in server.output()

    async def test_t21_partial_overlaps(self, server: Server, run_in_session: Any) -> None:
        """Camille's 2-hour balayage at a slot and her 30-minute blowout half an hour later,
        five customers each, at once: exactly one visit survives."""
        services = (
            await server.api.get(f"/book_services/{NEW_YORK}", params={"staff_id": CAMILLE})
        ).json()["data"]["services"]
        long_one = max(services, key=lambda s: s["seance_length"])
        short_one = min(services, key=lambda s: s["seance_length"])
        assert long_one["seance_length"] > 30 * 60 >= short_one["seance_length"]
        day = (await bookable_days(server.api, long_one["id"]))[1]
        start = (await slots(server.api, NEW_YORK, CAMILLE, long_one["id"], day))[0]
        short_slots = await slots(server.api, NEW_YORK, CAMILLE, short_one["id"], day)
        assert at(later(start, 30)) in {at(s) for s in short_slots}
        bodies = [
            stranger(n, long_one["id"], start)
            if n % 2
            else stranger(n, short_one["id"], later(start, 30))
            for n in range(10)
        ]
        answers = await asyncio.gather(
            *(server.api.post(f"/book_record/{NEW_YORK}", body) for body in bodies)
        )

        statuses = [answer.status_code for answer in answers]
        assert statuses.count(201) == 1, statuses
        assert statuses.count(422) == 9, statuses
        for answer in answers:
            if answer.status_code == 422:
                error(answer, 422, 433)
        assert len(await run_in_session(stored)) == 1
        assert await run_in_session(overlapping_pairs) == []
        assert "Traceback" not in server.output()
