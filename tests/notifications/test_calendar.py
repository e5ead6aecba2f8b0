"""Calendar feeds: a team member's private, revocable iCalendar URL of their appointments
(RFC 5545, read back with `icalendar`), and a customer's .ics of one booking."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from openbooking.cli import app as cli
from tests.bookings.helpers import ny_service, slots, user_token
from tests.conftest import LOG_LINES, SECRETS
from tests.notifications.conftest import Site, book, set_location
from tests.verification.conftest import NEW_YORK, PHONE

if TYPE_CHECKING:
    import httpx

    from tests.verification.conftest import Customer

pytestmark = [pytest.mark.usefixtures("clock", "demo")]
CAMILLE = 204


async def cli_run(site: Site, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("OPENBOOKING_DATABASE_URL", site.settings.database_url)
    monkeypatch.setenv("OPENBOOKING_VAR_DIR", str(site.settings.var_dir))
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


async def issue(site: Site, monkeypatch: pytest.MonkeyPatch, staff: int = CAMILLE) -> str:
    """The feed's path, from the URL `calendar issue` printed."""
    result = await cli_run(
        site, monkeypatch, "calendar", "issue", "--location", str(NEW_YORK), "--staff", str(staff)
    )
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    SECRETS.add(token)
    assert url == f"http://127.0.0.1:8000/calendar/{token}.ics"
    return f"/calendar/{token}.ics"


async def events(client: httpx.AsyncClient, path: str) -> list[Any]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["version"]) == "2.0"
    assert str(calendar["prodid"]).startswith("-//OpenBooking//")
    return list(calendar.walk("VEVENT"))


class TestFeed:
    async def test_the_members_appointments_in_utc(
        self, site: Site, customer: Customer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = await issue(site, monkeypatch)
        item, when = await book(customer, comment="allergic to lavender")
        (event,) = await events(customer.client, path)
        assert str(event["uid"]) == f"record-{item['record_id']}@openbooking"
        start = event.decoded("dtstart")
        assert start == datetime.fromisoformat(when)
        assert start.tzinfo is not None
        assert start.utcoffset().total_seconds() == 0, "times in UTC"
        assert event.decoded("dtend") > start
        assert event.decoded("dtstamp").tzinfo is not None
        assert int(event["sequence"]) == 0
        assert str(event["status"]) == "CONFIRMED"
        assert "Grace Hopper" in str(event["summary"])
        assert "allergic to lavender" in str(event["description"])
        assert "+12125550123" not in str(event["description"])
        assert "Linden & Lark SoHo" in str(event["location"])

    async def test_phones_only_where_the_location_allows(
        self, site: Site, customer: Customer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = await issue(site, monkeypatch)
        await book(customer)
        await set_location(site.run, calendar_phones=True)
        (event,) = await events(customer.client, path)
        assert "+12125550123" in str(event["description"])

    async def test_a_move_raises_the_sequence_and_a_cancellation_stays_as_cancelled(
        self, site: Site, customer: Customer, outbox: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = await issue(site, monkeypatch)
        token = await user_token(customer, outbox)
        item, _ = await book(customer, phone=PHONE)
        later = (await slots(customer, NEW_YORK, CAMILLE, await ny_service(customer)))[8]
        moved = await customer.put(
            f"/book_record/{NEW_YORK}/{item['record_id']}", {"datetime": later}, user=token
        )
        assert moved.status_code == 200
        (event,) = await events(customer.client, path)
        assert int(event["sequence"]) == 1
        assert event.decoded("dtstart") == datetime.fromisoformat(later)
        cancel = f"/user/records/{item['record_id']}/{item['record_hash']}"
        assert (await customer.send("DELETE", cancel, None)).status_code == 200
        (event,) = await events(customer.client, path)
        assert str(event["uid"]) == f"record-{item['record_id']}@openbooking"
        assert int(event["sequence"]) == 2
        assert str(event["status"]) == "CANCELLED"

    async def test_only_the_members_own_appointments(
        self, site: Site, customer: Customer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await book(customer)
        other = await issue(site, monkeypatch, staff=205)
        assert await events(customer.client, other) == []

    async def test_revoked_and_unknown_tokens_find_nothing(
        self, site: Site, customer: Customer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = await issue(site, monkeypatch)
        second = await issue(site, monkeypatch)
        assert path != second
        assert (await customer.client.get(path)).status_code == 200
        result = await cli_run(
            site, monkeypatch, "calendar", "revoke", "--location", str(NEW_YORK), "--staff", "204"
        )
        assert result.exit_code == 0, result.output
        assert "revoked 2" in result.stderr
        for gone in (path, second, "/calendar/nope.ics", f"/calendar/{'x' * 500}.ics"):
            response = await customer.client.get(gone)
            assert response.status_code == 404
            assert response.json()["success"] is False
        listed = await cli_run(site, monkeypatch, "calendar", "list")
        assert [line.split("\t")[-1] for line in listed.stdout.splitlines()] == [
            "revoked",
            "revoked",
        ]

    async def test_the_token_never_reaches_the_log(
        self, site: Site, customer: Customer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = await issue(site, monkeypatch)
        await customer.client.get(path)
        token = path.removeprefix("/calendar/").removesuffix(".ics")
        assert any("GET /calendar/{token}.ics 200" in line for line in LOG_LINES)
        assert not any(token in line for line in LOG_LINES)

    async def test_a_member_of_another_location_is_refused(
        self, site: Site, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        result = await cli_run(
            site, monkeypatch, "calendar", "issue", "--location", str(NEW_YORK), "--staff", "201"
        )
        assert result.exit_code == 1  # `main` prints the error as one line
        assert "No team member 201 at location 1002" in str(result.exception)
        assert result.stdout == ""

    async def test_the_public_url_setting_names_the_server(
        self, site: Site, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENBOOKING_PUBLIC_URL", "https://booking.example.com/")
        result = await cli_run(
            site, monkeypatch, "calendar", "issue", "--location", str(NEW_YORK), "--staff", "204"
        )
        url = result.stdout.strip()
        SECRETS.add(url.rsplit("/", 1)[1].removesuffix(".ics"))
        assert url.startswith("https://booking.example.com/calendar/")


class TestCustomerIcs:
    async def test_one_booking_by_its_id_and_hash(self, customer: Customer) -> None:
        item, when = await book(customer)
        path = f"/calendar/record/{item['record_id']}/{item['record_hash']}.ics"
        (event,) = await events(customer.client, path)
        assert str(event["uid"]) == f"record-{item['record_id']}@openbooking"
        assert event.decoded("dtstart") == datetime.fromisoformat(when).astimezone(UTC)
        assert "Linden & Lark SoHo" in str(event["summary"])
        wrong = f"/calendar/record/{item['record_id']}/{'0' * 32}.ics"
        assert (await customer.client.get(wrong)).status_code == 404
        assert not any(item["record_hash"] in line for line in LOG_LINES)
