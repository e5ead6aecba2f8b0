"""Booking SMS: confirmation, cancellation, and reminders sent once by `reminders run`."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from openbooking.bookings.notify import send_due_reminders
from openbooking.cli import app as cli
from openbooking.config import Settings
from openbooking.kit.db import create_engine, create_sessionmaker
from openbooking.models import Location, Record
from openbooking.sms.base import SmsDeliveryError, SmsMessage
from tests.bookings.helpers import NY_PHONE, ny_booking, ny_service, slots
from tests.verification.conftest import NEW_YORK, code_in

if TYPE_CHECKING:
    from pathlib import Path

    import time_machine
    from fastapi import FastAPI

    from tests.verification.conftest import Customer


pytestmark = pytest.mark.usefixtures("clock")


async def book(customer: Customer, index: int = 0, **extra: Any) -> tuple[dict[str, Any], str]:
    """Book Camille's `index`-th free slot on the test day; the answer item and the time."""
    service = await ny_service(customer)
    when = (await slots(customer, NEW_YORK, 204, service))[index]
    response = await customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, when, **extra))
    assert response.status_code == 201, response.text
    return response.json()["data"][0], when


def local(when: str) -> str:
    """How the SMS writes a slot of book_times: `2026-12-03 at 10:00`."""
    moment = datetime.fromisoformat(when)
    return f"{moment:%Y-%m-%d} at {moment:%H:%M}"


async def switch_off(run_in_session: Any, **switches: bool) -> None:
    await run_in_session(
        lambda session: session.execute(
            update(Location).where(Location.id == NEW_YORK).values(**switches)
        )
    )


@pytest.mark.usefixtures("demo")
class TestManageLink:
    @pytest.fixture
    def settings(self, database_url: str, tmp_path: Path) -> Settings:
        return Settings(
            database_url=database_url,
            var_dir=tmp_path / "var",
            public_url="https://book.example.com/",
        )

    async def test_the_confirmation_carries_the_manage_link(
        self, customer: Customer, outbox: Any
    ) -> None:
        item, when = await book(customer)
        (sms,) = outbox(NY_PHONE)
        link = f"https://book.example.com/r/{NEW_YORK}/{item['record_id']}/{item['record_hash']}"
        assert sms["text"] == (
            f"Linden & Lark SoHo: your appointment on {local(when)} is confirmed. "
            f"Change or cancel: {link}"
        )
        page = await customer.client.get(link.removeprefix("https://book.example.com"))
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]


@pytest.mark.usefixtures("demo")
class TestConfirmationAndCancellation:
    async def test_booking_is_confirmed_by_sms(self, customer: Customer, outbox: Any) -> None:
        _, when = await book(customer)
        (sms,) = outbox(NY_PHONE)
        assert sms["text"] == f"Linden & Lark SoHo: your appointment on {local(when)} is confirmed."

    async def test_a_national_phone_is_stored_and_texted_in_e164(
        self, customer: Customer, outbox: Any, run_in_session: Any
    ) -> None:
        # The location's own national form: one phone, parsed once for the booking and once
        # more (or not) for whether it may be texted; the same number either way.
        item, when = await book(customer, phone="(212) 555-0123")
        (sms,) = outbox(NY_PHONE)
        assert sms["to"] == NY_PHONE
        assert sms["text"] == f"Linden & Lark SoHo: your appointment on {local(when)} is confirmed."
        stored = await run_in_session(
            lambda session: session.scalars(
                select(Record.client_phone).where(Record.id == item["record_id"])
            )
        )
        assert list(stored) == [NY_PHONE]

    async def test_cancelling_sends_a_notice(self, customer: Customer, outbox: Any) -> None:
        item, when = await book(customer)
        path = f"/user/records/{item['record_id']}/{item['record_hash']}"
        assert (await customer.send("DELETE", path, None)).status_code == 200
        assert (await customer.send("DELETE", path, None)).status_code == 200
        texts = [sms["text"] for sms in outbox(NY_PHONE)]
        assert texts[1:] == [f"Linden & Lark SoHo: your appointment on {local(when)} is cancelled."]

    async def test_a_refused_booking_sends_nothing(self, customer: Customer, outbox: Any) -> None:
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, 204, service))[0]
        await customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, when))
        again = await customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, when))
        assert again.status_code == 422
        assert len(outbox(NY_PHONE)) == 1

    async def test_the_location_can_switch_them_off(
        self, customer: Customer, outbox: Any, run_in_session: Any
    ) -> None:
        await switch_off(run_in_session, sms_confirmation=False, sms_cancellation=False)
        item, _ = await book(customer)
        path = f"/user/records/{item['record_id']}/{item['record_hash']}"
        assert (await customer.send("DELETE", path, None)).status_code == 200
        assert outbox(NY_PHONE) == []

    async def test_a_gateway_failure_does_not_undo_the_booking(
        self, app: FastAPI, customer: Customer
    ) -> None:
        class Down:
            async def send(self, message: SmsMessage) -> None:
                raise SmsDeliveryError("gateway down")

        app.state.sms = Down()
        item, _ = await book(customer)
        read = await customer.get(
            f"/book_record/{NEW_YORK}/{item['record_id']}/{item['record_hash']}"
        )
        assert read.status_code == 200


class Recorder:
    def __init__(self, *, fail: bool = False) -> None:
        self.sent: list[SmsMessage] = []
        self.fail = fail

    async def send(self, message: SmsMessage) -> None:
        await asyncio.sleep(0)  # let a concurrent run interleave here
        if self.fail:
            raise SmsDeliveryError("gateway down")
        self.sent.append(message)


@pytest.mark.usefixtures("demo")
class TestReminders:
    async def run(self, app: FastAPI, sender: Any) -> Any:
        return await send_due_reminders(create_sessionmaker(app.state.engine), sender)

    async def test_sent_once_when_due(
        self, app: FastAPI, customer: Customer, clock: time_machine.Traveller
    ) -> None:
        _, when = await book(customer, notify_by_sms=24)
        sender = Recorder()
        assert (await self.run(app, sender)).due == 0
        clock.move_to(datetime.fromisoformat(when) - timedelta(hours=24, seconds=1))
        assert (await self.run(app, sender)).due == 0, "not due yet"
        clock.shift(timedelta(seconds=1))
        run = await self.run(app, sender)
        assert (run.due, run.sent, run.failed) == (1, 1, 0)
        (sms,) = sender.sent
        assert sms.to == NY_PHONE
        assert sms.text == f"Linden & Lark SoHo: a reminder of your appointment on {local(when)}."
        clock.shift(timedelta(hours=1))
        assert (await self.run(app, sender)).due == 0, "never twice"

    async def test_concurrent_runs_send_each_once(
        self, app: FastAPI, settings: Settings, customer: Customer, clock: time_machine.Traveller
    ) -> None:
        times = [(await book(customer, index, notify_by_sms=24))[1] for index in (0, 4, 8)]
        clock.move_to(datetime.fromisoformat(times[0]) - timedelta(hours=1))
        sender = Recorder()
        # Separate engines, as separate cron jobs or machines would have.
        engines = [create_engine(settings.database_url) for _ in range(4)]
        try:
            await asyncio.gather(
                *(send_due_reminders(create_sessionmaker(e), sender) for e in engines)
            )
        finally:
            for engine in engines:
                await engine.dispose()
        assert sorted(sms.text for sms in sender.sent) == sorted(
            f"Linden & Lark SoHo: a reminder of your appointment on {local(when)}."
            for when in times
        )

    async def test_a_failed_send_is_retried_by_the_next_run(
        self, app: FastAPI, customer: Customer, clock: time_machine.Traveller
    ) -> None:
        _, when = await book(customer, notify_by_sms=3)
        clock.move_to(datetime.fromisoformat(when) - timedelta(hours=2))
        failed = await self.run(app, Recorder(fail=True))
        assert (failed.due, failed.sent, failed.failed) == (1, 0, 1)
        sender = Recorder()
        clock.shift(timedelta(minutes=5))
        assert (await self.run(app, sender)).sent == 1
        assert len(sender.sent) == 1

    async def test_rescheduling_moves_the_reminder_and_cancelling_drops_it(
        self, app: FastAPI, customer: Customer, clock: time_machine.Traveller, outbox: Any
    ) -> None:
        moved, _ = await book(customer, 0, notify_by_sms=1)
        dropped, second = await book(customer, 4, notify_by_sms=1)
        service = await ny_service(customer)
        later = (await slots(customer, NEW_YORK, 204, service))[-1]
        path = f"/user/records/{dropped['record_id']}/{dropped['record_hash']}"
        assert (await customer.send("DELETE", path, None)).status_code == 200
        token = await self.login(customer, outbox)  # the booking phone's owner may move it
        answer = await customer.put(
            f"/book_record/{NEW_YORK}/{moved['record_id']}", {"datetime": later}, user=token
        )
        assert answer.status_code == 200, answer.text
        assert outbox(NY_PHONE)[-1]["text"].endswith(f"on {local(later)} is confirmed.")
        sender = Recorder()
        clock.move_to(datetime.fromisoformat(second) - timedelta(minutes=30))
        assert (await self.run(app, sender)).due == 0, "the moved and the cancelled visit"
        clock.move_to(datetime.fromisoformat(later) - timedelta(minutes=30))
        await self.run(app, sender)
        assert [sms.text for sms in sender.sent] == [
            f"Linden & Lark SoHo: a reminder of your appointment on {local(later)}."
        ]

    async def login(self, customer: Customer, outbox: Any) -> str:
        await customer.post(f"/book_code/{NEW_YORK}", {"phone": NY_PHONE})
        code = code_in(outbox(NY_PHONE)[-1])
        response = await customer.post("/user/auth", {"phone": NY_PHONE, "code": code})
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["user_token"])

    async def test_none_when_the_location_sends_none(
        self, app: FastAPI, customer: Customer, clock: time_machine.Traveller, run_in_session: Any
    ) -> None:
        await switch_off(run_in_session, sms_reminders=False)
        _, when = await book(customer, notify_by_sms=24)
        clock.move_to(datetime.fromisoformat(when) - timedelta(hours=1))
        assert (await self.run(app, Recorder())).due == 0
        company = (await customer.get(f"/company/{NEW_YORK}")).json()["data"]
        assert company["reminds_sms_disabled"] is True

    async def test_the_command_sends_due_reminders(
        self,
        settings: Settings,
        customer: Customer,
        clock: time_machine.Traveller,
        outbox: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        _, when = await book(customer, notify_by_sms=24)
        clock.move_to(datetime.fromisoformat(when) - timedelta(hours=23))
        monkeypatch.setenv("OPENBOOKING_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("OPENBOOKING_VAR_DIR", str(settings.var_dir))
        runner = CliRunner()
        result = await asyncio.to_thread(runner.invoke, cli, ["reminders", "run"])
        assert result.exit_code == 0, result.output
        assert "reminders: 1 due, 1 sent, 0 failed" in result.output
        assert outbox(NY_PHONE)[-1]["text"].startswith("Linden & Lark SoHo: a reminder")
        again = await asyncio.to_thread(runner.invoke, cli, ["reminders", "run"])
        assert "reminders: 0 due, 0 sent, 0 failed" in again.output
