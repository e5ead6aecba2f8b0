"""E-mail beside SMS: confirmation (with an .ics), change, cancellation and reminder to
customers who gave an e-mail and asked for it, a new-booking notice to the team member; sent
by `notifications run` through the outbox provider or a real SMTP server (STARTTLS, TLS)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import TYPE_CHECKING, Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from icalendar import Calendar

from openbooking.notifications.senders import SmtpMailer
from tests.bookings.helpers import NOW, ny_service, slots, user_token
from tests.conftest import SECRETS
from tests.notifications.conftest import Site, book, free_port, set_location, set_staff_email
from tests.verification.conftest import NEW_YORK, PHONE

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import time_machine

    from tests.verification.conftest import Customer

pytestmark = [pytest.mark.usefixtures("clock", "demo")]
GRACE = "grace@example.org"
CAMILLE_MAIL = "camille@example.org"


def local(when: str) -> str:
    moment = datetime.fromisoformat(when)
    return f"{moment:%Y-%m-%d} at {moment:%H:%M}"


def event_of(mail: dict[str, Any]) -> Any:
    (attachment,) = mail["attachments"]
    assert attachment["filename"] == "appointment.ics"
    calendar = Calendar.from_ical(attachment["content"])
    (event,) = calendar.walk("VEVENT")
    return event


class TestCustomerMail:
    async def test_confirmation_with_a_calendar_file(
        self, site: Site, customer: Customer, mails: Any
    ) -> None:
        item, when = await book(customer, notify_by_email=1)
        assert mails() == [], "nothing is sent inside the booking"
        assert (await site.deliver()).sent == 1
        (mail,) = mails(GRACE)
        assert (
            mail["subject"] == f"Linden & Lark SoHo: your appointment on {local(when)} is confirmed"
        )
        assert "Hello Grace Hopper," in mail["text"]
        assert "Camille Brooks" in mail["text"]
        event = event_of(mail)
        assert str(event["uid"]) == f"record-{item['record_id']}@openbooking"
        assert event.decoded("dtstart") == datetime.fromisoformat(when)
        assert int(event["sequence"]) == 0
        assert str(event["status"]) == "CONFIRMED"

    async def test_only_to_customers_who_asked(
        self, site: Site, customer: Customer, mails: Any
    ) -> None:
        await book(customer, 0)  # notify_by_email 0: no e-mail
        await set_location(site.run, booking_email_required=False)
        await book(customer, 0, email=None, notify_by_email=1, phone="+12125550188")
        assert (await site.deliver()).claimed == 0
        assert mails() == []

    async def test_the_location_can_switch_them_off(
        self, site: Site, customer: Customer, mails: Any
    ) -> None:
        await set_location(site.run, email_confirmation=False, email_reminders=False)
        await book(customer, notify_by_email=1)
        assert (await site.deliver()).claimed == 0

    async def test_change_and_cancellation(
        self, site: Site, customer: Customer, mails: Any, outbox: Any
    ) -> None:
        token = await user_token(customer, outbox)
        item, _ = await book(customer, phone=PHONE, notify_by_email=1)
        later = (await slots(customer, NEW_YORK, 204, await ny_service(customer)))[8]
        path = f"/book_record/{NEW_YORK}/{item['record_id']}"
        assert (await customer.put(path, {"datetime": later}, user=token)).status_code == 200
        cancel = f"/user/records/{item['record_id']}/{item['record_hash']}"
        assert (await customer.send("DELETE", cancel, None)).status_code == 200
        await site.deliver()
        _, moved, cancelled = mails(GRACE)
        assert (
            moved["subject"] == f"Linden & Lark SoHo: your appointment is moved to {local(later)}"
        )
        assert int(event_of(moved)["sequence"]) == 1
        assert event_of(moved).decoded("dtstart") == datetime.fromisoformat(later)
        assert cancelled["subject"].endswith(f"on {local(later)} is cancelled")
        assert cancelled["attachments"] == []

    async def test_in_the_location_language(
        self, site: Site, customer: Customer, mails: Any
    ) -> None:
        await set_location(site.run, language="ru-RU")
        _, when = await book(customer, notify_by_email=1)
        await site.deliver()
        (mail,) = mails(GRACE)
        moment = datetime.fromisoformat(when)
        assert mail["subject"] == (
            f"Linden & Lark SoHo: ваша запись на {moment:%d.%m.%Y} в {moment:%H:%M} подтверждена"
        )
        assert "Здравствуйте, Grace Hopper!" in mail["text"]


class TestReminder:
    async def test_without_the_confirmation_too(
        self, site: Site, customer: Customer, mails: Any, clock: time_machine.Traveller
    ) -> None:
        await set_location(site.run, email_confirmation=False)
        _, when = await book(customer, notify_by_email=2)
        assert (await site.deliver()).claimed == 0
        clock.move_to(datetime.fromisoformat(when) - timedelta(hours=1))
        assert (await site.deliver()).sent == 1
        (reminder,) = mails(GRACE)
        assert "a reminder" in reminder["subject"]

    async def test_sent_the_hours_asked_before_the_visit(
        self, site: Site, customer: Customer, mails: Any, clock: time_machine.Traveller
    ) -> None:
        _, when = await book(customer, notify_by_email=2)
        await site.deliver()
        assert len(mails(GRACE)) == 1
        clock.move_to(datetime.fromisoformat(when) - timedelta(hours=2, minutes=1))
        assert (await site.deliver()).claimed == 0
        clock.shift(timedelta(minutes=2))
        assert (await site.deliver()).sent == 1
        reminder = mails(GRACE)[-1]
        assert reminder["subject"].endswith(f"a reminder of your appointment on {local(when)}")

    async def test_a_cancelled_visit_gets_no_reminder(
        self, site: Site, customer: Customer, mails: Any, clock: time_machine.Traveller
    ) -> None:
        item, when = await book(customer, notify_by_email=2)
        cancel = f"/user/records/{item['record_id']}/{item['record_hash']}"
        assert (await customer.send("DELETE", cancel, None)).status_code == 200
        clock.move_to(datetime.fromisoformat(when) - timedelta(hours=1))
        await site.deliver()
        assert [mail["subject"].rsplit(" ", 1)[-1] for mail in mails(GRACE)] == [
            "confirmed",
            "cancelled",
        ]


class TestTeamMemberNotice:
    async def test_a_new_booking_is_announced_to_the_member(
        self, site: Site, customer: Customer, mails: Any
    ) -> None:
        await set_staff_email(site.run, CAMILLE_MAIL)
        _, when = await book(customer, comment="first visit")
        await site.deliver()
        (notice,) = mails(CAMILLE_MAIL)
        assert notice["subject"] == f"New booking on {local(when)}: Grace Hopper"
        assert "first visit" in notice["text"]
        assert "+12125550123" not in notice["text"], "phones only where the location allows"
        await set_location(site.run, calendar_phones=True)
        await book(customer, 0, phone="+12125550145")
        await site.deliver()
        assert "+12125550145" in mails(CAMILLE_MAIL)[-1]["text"]

    async def test_none_without_an_address_or_when_switched_off(
        self, site: Site, customer: Customer, mails: Any
    ) -> None:
        await book(customer)
        await set_staff_email(site.run, CAMILLE_MAIL)
        await set_location(site.run, email_staff_notices=False)
        await book(customer, 0, phone="+12125550145")
        assert (await site.deliver()).claimed == 0


@dataclass
class Inbox:
    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"


class Accounts:
    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"openbooking",
            b"s3cret-smtp-pass",
        )
        return AuthResult(success=ok)


@dataclass
class SmtpServer:
    port: int
    inbox: Inbox
    ca_file: Path


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A certificate for 127.0.0.1 from a CA made for this test, and that CA's file."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    return context, ca_file


@pytest.fixture
def starttls_server(tls: tuple[ssl.SSLContext, Path]) -> Iterator[SmtpServer]:
    context, ca_file = tls
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=Accounts(),
        auth_require_tls=True,
    )
    controller.start()
    yield SmtpServer(controller.port, inbox, ca_file)
    controller.stop()


@pytest.fixture
def tls_server(tls: tuple[ssl.SSLContext, Path]) -> Iterator[SmtpServer]:
    context, ca_file = tls
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ssl_context=context)
    controller.start()
    yield SmtpServer(controller.port, inbox, ca_file)
    controller.stop()


def received(server: SmtpServer) -> EmailMessage:
    (envelope,) = server.inbox.messages
    message = message_from_bytes(envelope.content, policy=default)
    assert isinstance(message, EmailMessage)
    return message


class TestSmtp:
    async def test_starttls_with_a_login(
        self, site: Site, customer: Customer, starttls_server: SmtpServer
    ) -> None:
        SECRETS.add("s3cret-smtp-pass")
        mailer = SmtpMailer(
            host="127.0.0.1",
            port=starttls_server.port,
            security="starttls",
            username="openbooking",
            password="s3cret-smtp-pass",
            timeout=10,
            ca_file=starttls_server.ca_file,
        )
        item, _ = await book(customer, notify_by_email=1)
        assert (await site.deliver(mailer)).sent == 1
        message = received(starttls_server)
        assert starttls_server.inbox.messages[0].rcpt_tos == [GRACE]
        assert message["From"] == site.settings.email_from
        assert message["Subject"].endswith("is confirmed")
        (part,) = message.iter_attachments()
        assert part.get_content_type() == "text/calendar"
        event = Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
        assert str(event["uid"]) == f"record-{item['record_id']}@openbooking"

    async def test_an_untrusted_certificate_is_refused(
        self, site: Site, customer: Customer, starttls_server: SmtpServer
    ) -> None:
        mailer = SmtpMailer(
            host="127.0.0.1",
            port=starttls_server.port,
            security="starttls",
            username="",
            password="",
            timeout=10,
        )
        await book(customer, notify_by_email=1)
        run = await site.deliver(mailer)
        assert run.retrying == 1
        assert starttls_server.inbox.messages == []

    async def test_implicit_tls(
        self, site: Site, customer: Customer, tls_server: SmtpServer
    ) -> None:
        mailer = SmtpMailer(
            host="127.0.0.1",
            port=tls_server.port,
            security="tls",
            username="",
            password="",
            timeout=10,
            ca_file=tls_server.ca_file,
        )
        await book(customer, notify_by_email=1)
        assert (await site.deliver(mailer)).sent == 1
        assert received(tls_server)["To"] == GRACE

    async def test_a_server_that_is_down_is_tried_again(
        self, site: Site, customer: Customer, clock: time_machine.Traveller
    ) -> None:
        port = free_port()
        mailer = SmtpMailer(
            host="127.0.0.1", port=port, security="none", username="", password="", timeout=5
        )
        await book(customer, notify_by_email=1)
        assert (await site.deliver(mailer)).retrying == 1
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            clock.shift(timedelta(minutes=5))
            assert (await site.deliver(mailer)).sent == 1
            assert len(inbox.messages) == 1
        finally:
            controller.stop()


async def test_nothing_is_sent_before_now(site: Site) -> None:
    assert NOW.tzinfo is not None
    assert (await site.deliver()).claimed == 0
