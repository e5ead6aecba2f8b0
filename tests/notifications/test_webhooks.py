"""Webhooks: signed calls on record created / changed / cancelled and event booked, written in
the booking's transaction and delivered by `notifications run`, at least once, with backoff, across
restarts, and never twice at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from openbooking.cli import app as cli
from openbooking.kit.db import create_engine, create_sessionmaker
from openbooking.models import OutboxMessage
from openbooking.notifications import repository, worker
from openbooking.notifications.webhooks import secret, signature, verify
from tests.bookings.helpers import NOW, ny_service, slots, user_token
from tests.conftest import SECRETS
from tests.notifications.conftest import (
    Receiver,
    Site,
    book,
    sender_process,
    set_location,
)
from tests.verification.conftest import NEW_YORK, PHONE

if TYPE_CHECKING:
    import time_machine
    from fastapi import FastAPI

    from openbooking.config import Settings
    from tests.verification.conftest import Customer

pytestmark = [pytest.mark.usefixtures("clock", "demo")]
ALL = ["record.created", "record.changed", "record.cancelled", "event.booked"]


async def subscribe(run_in_session: Any, *urls: str, events: list[str] = ALL) -> None:
    hooks = [{"url": url, "events": events, "secret_version": 1} for url in urls]
    await set_location(run_in_session, webhooks=hooks)


def checked(site: Site, receiver: Receiver, index: int, now: int) -> dict[str, Any]:
    """The `index`-th call, after checking its signature as a receiver would."""
    call = receiver.received[index]
    key = secret(site.key, NEW_YORK, receiver.url)
    SECRETS.add(key)
    assert verify(key, call.headers["OpenBooking-Signature"], call.body, now)
    assert call.headers["Content-Type"] == "application/json"
    body: dict[str, Any] = call.json
    assert call.headers["OpenBooking-Event"] == body["type"]
    return body


async def outbox_rows(settings: Settings) -> list[OutboxMessage]:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    finally:
        await engine.dispose()


class TestEvents:
    async def test_a_booking_its_move_and_its_cancellation_are_signed_calls(
        self,
        site: Site,
        customer: Customer,
        outbox: Any,
        receiver: Receiver,
    ) -> None:
        await subscribe(site.run, receiver.url)
        token = await user_token(customer, outbox)
        item, when = await book(customer, phone=PHONE)
        assert receiver.received == [], "the booking does not wait for the receiver"
        assert (await site.deliver()).sent == 1
        created = checked(site, receiver, 0, int(NOW.timestamp()))
        assert created["type"] == "record.created"
        assert created["id"].startswith("evt_")
        assert created["location_id"] == NEW_YORK
        record = created["data"]["record"]
        assert record["id"] == item["record_id"]
        assert record["datetime"] == when
        assert record["status"] == "active"
        assert record["sequence"] == 0
        assert record["staff"] == {"id": 204, "name": "Camille Brooks"}
        assert record["client"]["phone"] == PHONE
        assert record["services"][0]["title"]

        path = f"/book_record/{NEW_YORK}/{item['record_id']}"
        later = (await slots(customer, NEW_YORK, 204, await ny_service(customer)))[8]
        moved = await customer.put(path, {"datetime": later}, user=token)
        assert moved.status_code == 200, moved.text
        cancel = f"/user/records/{item['record_id']}/{item['record_hash']}"
        assert (await customer.send("DELETE", cancel, None)).status_code == 200
        assert (await site.deliver()).sent == 2
        changed = checked(site, receiver, 1, int(NOW.timestamp()))
        cancelled = checked(site, receiver, 2, int(NOW.timestamp()))
        assert changed["type"] == "record.changed"
        assert changed["data"]["record"]["datetime"] == later
        assert changed["data"]["record"]["sequence"] == 1
        assert cancelled["type"] == "record.cancelled"
        assert cancelled["data"]["record"]["status"] == "cancelled"
        assert cancelled["data"]["record"]["sequence"] == 2
        assert (await site.deliver()).claimed == 0, "each call is made once"

    async def test_only_the_events_an_endpoint_lists(
        self,
        site: Site,
        customer: Customer,
        receiver: Receiver,
    ) -> None:
        await subscribe(site.run, receiver.url, events=["record.cancelled"])
        item, _ = await book(customer)
        cancel = f"/user/records/{item['record_id']}/{item['record_hash']}"
        assert (await customer.send("DELETE", cancel, None)).status_code == 200
        await site.deliver()
        assert [call.json["type"] for call in receiver.received] == ["record.cancelled"]

    async def test_a_refused_booking_calls_nobody(self, site: Site, customer: Customer) -> None:
        await subscribe(site.run, "http://127.0.0.1:9/hooks")
        await book(customer)
        again = await customer.post(
            f"/book_record/{NEW_YORK}",
            {"phone": "+12125550123", "fullname": "X", "appointments": []},
        )
        assert again.status_code == 422
        assert len(await outbox_rows(site.settings)) == 1

    async def test_a_seat_booking_calls_event_booked_with_its_record(
        self,
        site: Site,
        customer: Customer,
        receiver: Receiver,
    ) -> None:
        await subscribe(site.run, receiver.url)
        found = await customer.get(
            f"/activity/{NEW_YORK}/search", params={"from": "2026-12-01", "till": "2026-12-31"}
        )
        session_id = found.json()["data"][0]["id"]
        booked = await customer.post(
            f"/activity/{NEW_YORK}/{session_id}/book",
            {
                "fullname": "Grace Hopper",
                "phone": "+12125550123",
                "email": "grace@example.org",
                "clients_count": 2,
            },
        )
        assert booked.status_code == 200, booked.text
        assert (await site.deliver()).sent == 1
        body = checked(site, receiver, 0, int(NOW.timestamp()))
        assert body["type"] == "event.booked"
        record = body["data"]["record"]
        assert (record["id"], record["activity_id"], record["clients_count"]) == (
            booked.json()["data"]["id"],
            session_id,
            2,
        )

    async def test_each_endpoint_gets_its_own_secret(
        self,
        site: Site,
        customer: Customer,
        receiver: Receiver,
    ) -> None:
        other = Receiver()
        other.start()
        try:
            await subscribe(site.run, receiver.url, other.url)
            await book(customer)
            assert (await site.deliver()).sent == 2
            (one,), (two,) = receiver.received, other.received
            assert one.json == two.json
            key = secret(site.key, NEW_YORK, receiver.url)
            assert not verify(
                key, two.headers["OpenBooking-Signature"], two.body, 0 + int(NOW.timestamp())
            )
        finally:
            other.stop()


class TestSignature:
    def test_a_changed_body_or_an_old_timestamp_fails(self) -> None:
        body = b'{"type": "record.created"}'
        header = signature("whsec_test", 1_700_000_000, body)
        assert verify("whsec_test", header, body, 1_700_000_100)
        assert not verify("whsec_test", header, body + b" ", 1_700_000_100)
        assert not verify("whsec_other", header, body, 1_700_000_100)
        assert not verify("whsec_test", header, body, 1_700_000_000 + 301)
        assert not verify("whsec_test", "v1=abc", body, 1_700_000_000)

    async def test_the_cli_shows_the_secret_and_version_rotates_it(
        self,
        site: Site,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        url = "https://hooks.example.org/openbooking"
        await subscribe(site.run, url)
        monkeypatch.setenv("OPENBOOKING_DATABASE_URL", site.settings.database_url)
        monkeypatch.setenv("OPENBOOKING_VAR_DIR", str(site.settings.var_dir))
        runner = CliRunner()
        shown = await asyncio.to_thread(
            runner.invoke, cli, ["webhooks", "secrets", "--location", str(NEW_YORK)]
        )
        assert shown.exit_code == 0, shown.output
        first = secret(site.key, NEW_YORK, url)
        SECRETS.add(first)
        assert shown.stdout.strip().split("\t") == [url, ",".join(ALL), first]
        await set_location(site.run, webhooks=[{"url": url, "events": ALL, "secret_version": 2}])
        rotated = await asyncio.to_thread(
            runner.invoke, cli, ["webhooks", "secrets", "--location", str(NEW_YORK)]
        )
        second = rotated.stdout.strip().split("\t")[2]
        SECRETS.add(second)
        assert second.startswith("whsec_")
        assert second != first


class TestDelivery:
    async def test_a_receiver_down_for_a_while_gets_the_call_after_a_restart(
        self,
        site: Site,
        customer: Customer,
        down_receiver: Receiver,
        clock: time_machine.Traveller,
    ) -> None:
        await subscribe(site.run, down_receiver.url)
        item, _ = await book(customer)
        first = await site.deliver()
        assert (first.claimed, first.sent, first.retrying) == (1, 0, 1)
        assert "ConnectError" in first.errors[0]
        assert (await site.deliver()).claimed == 0, "not before its backoff"
        clock.shift(timedelta(minutes=1))
        assert (await site.deliver()).retrying == 1, "second failure"
        (row,) = await outbox_rows(site.settings)
        assert row.attempts == 2
        assert row.due_at - NOW - timedelta(minutes=1) >= timedelta(seconds=54), "backoff grows"

        down_receiver.start()  # the receiver comes up; a new sender process starts
        clock.shift(timedelta(minutes=5))
        later = await site.deliver()
        assert (later.claimed, later.sent) == (1, 1)
        (call,) = down_receiver.received
        assert call.json["data"]["record"]["id"] == item["record_id"]
        (row,) = await outbox_rows(site.settings)
        assert row.sent_at is not None

    async def test_an_error_answer_is_retried(
        self,
        site: Site,
        customer: Customer,
        receiver: Receiver,
        clock: time_machine.Traveller,
    ) -> None:
        await subscribe(site.run, receiver.url)
        await book(customer)
        receiver.status = 500
        run = await site.deliver()
        assert run.errors == ["answered HTTP 500"]
        receiver.status = 200
        clock.shift(timedelta(hours=1))
        assert (await site.deliver()).sent == 1
        first, second = receiver.received
        assert first.json["id"] == second.json["id"], "receivers deduplicate on the event id"
        assert first.headers["OpenBooking-Delivery"] == second.headers["OpenBooking-Delivery"]

    async def test_gives_up_after_the_last_attempt(
        self,
        site: Site,
        customer: Customer,
        receiver: Receiver,
        clock: time_machine.Traveller,
    ) -> None:
        await subscribe(site.run, receiver.url)
        await book(customer)
        receiver.status = 410
        for _ in range(worker.MAX_ATTEMPTS - 1):
            assert (await site.deliver()).retrying == 1
            clock.shift(timedelta(hours=7))
        assert (await site.deliver()).given_up == 1
        clock.shift(timedelta(days=7))
        assert (await site.deliver()).claimed == 0
        (row,) = await outbox_rows(site.settings)
        assert row.dead_at is not None
        assert len(receiver.received) == worker.MAX_ATTEMPTS

    async def test_an_endpoint_removed_from_the_file_is_not_called(
        self,
        site: Site,
        customer: Customer,
        receiver: Receiver,
    ) -> None:
        await subscribe(site.run, receiver.url)
        await book(customer)
        await set_location(site.run, webhooks=[])
        assert (await site.deliver()).given_up == 1
        assert receiver.received == []

    async def test_a_sender_that_died_mid_delivery_is_taken_over_after_its_lease(
        self,
        site: Site,
        customer: Customer,
        receiver: Receiver,
        clock: time_machine.Traveller,
    ) -> None:
        await subscribe(site.run, receiver.url)
        await book(customer)

        async def die_after_claiming(session: Any) -> None:
            until = NOW + timedelta(seconds=worker.LEASE_SECONDS)
            assert len(await repository.claim(session, NOW, until, "dead-worker", 10)) == 1

        await site.run(die_after_claiming)
        assert (await site.deliver()).claimed == 0, "leased to the dead worker"
        clock.shift(timedelta(seconds=worker.LEASE_SECONDS))
        assert (await site.deliver()).sent == 1
        assert len(receiver.received) == 1

    async def test_concurrent_senders_never_send_one_call_twice(
        self,
        site: Site,
        customer: Customer,
        receiver: Receiver,
    ) -> None:
        await subscribe(site.run, receiver.url)
        for index in range(6):
            await book(customer, 0, phone=f"+1212555{index + 100:04d}")
        runs = await asyncio.gather(*(site.deliver() for _ in range(4)))
        assert sum(run.sent for run in runs) == 6
        ids = sorted(call.json["data"]["record"]["id"] for call in receiver.received)
        assert len(ids) == len(set(ids)) == 6

    async def test_the_cli_delivers(
        self,
        site: Site,
        customer: Customer,
        receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        await subscribe(site.run, receiver.url)
        await book(customer)
        monkeypatch.setenv("OPENBOOKING_DATABASE_URL", site.settings.database_url)
        monkeypatch.setenv("OPENBOOKING_VAR_DIR", str(site.settings.var_dir))
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["notifications", "run"])
        assert result.exit_code == 0, result.output
        assert "1 due, 1 sent" in result.stderr
        assert len(receiver.received) == 1

    async def test_forever_keeps_delivering_until_stopped(
        self, site: Site, customer: Customer, receiver: Receiver
    ) -> None:
        await subscribe(site.run, receiver.url)
        async with sender_process(site.app, site.settings) as (sessions, delivery):
            loop = asyncio.create_task(worker.run_forever(sessions, delivery, poll_seconds=0.05))
            try:
                for count in (1, 2):
                    await book(customer, 0, phone=f"+1212555{count + 170:04d}")
                    assert await asyncio.to_thread(receiver.wait_for, count)
            finally:
                loop.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await loop
        assert [call.json["type"] for call in receiver.received] == ["record.created"] * 2


async def test_sender_process_helper_is_isolated(app: FastAPI, settings: Settings) -> None:
    async with sender_process(app, settings) as (sessions, delivery):
        assert (await worker.deliver_due(sessions, delivery)).claimed == 0
