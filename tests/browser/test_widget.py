"""The booking widget in a real browser: a person books, manages and cancels on `/b/{form}` and
`/r/{location}/{record}/{hash}`, with the SMS codes read from the server's outbox. Every step is
checked with axe-core (no serious or critical violation) and photographed at 1280 and 375 px.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta
from itertools import count
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import yaml
from playwright.sync_api import expect

from openbooking.business.service import demo_path
from openbooking.sms.outbox import read_outbox
from tests.browser.conftest import CHROMIUM, DESKTOP, LAUNCH_ARGS, accessible_and_photographed
from tests.server import Server, running_server

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import Browser, Page

SHOP = "https://shop.lindenlark.example"
BERLIN, SOHO = 1001, 1002
PHONES = count(1)


@pytest.fixture(scope="module")
def widget_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module. Every test comes from 127.0.0.1 with its own phones of one
    number block, so the per-address and per-block SMS budgets are raised."""
    with running_server(
        tmp_path_factory.mktemp("widget"),
        sms_per_ip_hour="1000",
        sms_phones_per_ip_hour="1000",
        sms_per_prefix_hour="1000",
        sms_min_interval_seconds="1",  # a booking's code, then a log-in code to the same phone
        widget_requests_per_ip_minute="100000",
    ) as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    errors: list[str] = []
    new = context.new_page()
    new.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield new
    finally:
        context.close()
    assert not errors, errors


def berlin_phone() -> str:
    return f"+4915112{next(PHONES):06d}"


def soho_phone() -> str:
    return f"+1212555{next(PHONES) % 10000:04d}"


def latest_code(server: Server, phone: str) -> str:
    outbox = server.log.parent / "var" / "sms-outbox.jsonl"
    for message in reversed(read_outbox(outbox, phone)):
        found = re.match(r"(\d{6}) is your code", message["text"])
        if found:
            return found[1]
    raise AssertionError(f"no code sent to {phone}")


def check(page: Page, screenshots: Path, name: str) -> None:
    page.wait_for_selector("#step-title")
    accessible_and_photographed(page, screenshots, f"widget-{name}")


def title(page: Page) -> str:
    return page.locator("#step-title").inner_text()


def choose_services(page: Page, *names: str) -> None:
    for name in names:
        page.get_by_label(name).check()
    page.get_by_role("button", name="Continue").click()


def choose_member(page: Page, name: str) -> None:
    page.locator("button.choice", has_text=name).click()


def choose_first_time(page: Page) -> str:
    """The first day with free time, then its first time; the time's label."""
    page.locator(".day.free").first.click()
    slot = page.locator(".slot").first
    slot.wait_for()
    label = slot.inner_text()
    slot.click()
    return label


def fill_contact(page: Page, phone: str, *, email: str = "", consent: bool = False) -> None:
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Phone").fill(phone)
    if email:
        page.get_by_label("E-mail").fill(email)
    if consent:
        page.get_by_label("I agree to the processing of my personal data").check()


def api(server: Server, method: str, path: str, **kwargs: Any) -> Any:
    answer = httpx.request(
        method,
        f"{server.url}/api/v1{path}",
        headers={"Authorization": f"Bearer {server.token}"},
        **kwargs,
    )
    assert answer.status_code < 300, answer.text
    return answer.json()["data"]


def book_by_api(server: Server, location: int, staff: int, service: int, phone: str) -> Any:
    """A booking made elsewhere (by a partner), at the member's first free time."""
    seances = api(
        server, "GET", f"/book_staff_seances/{location}/{staff}", params={"service_ids": service}
    )["seances"]
    body: dict[str, Any] = {
        "phone": phone,
        "fullname": "Grace Hopper",
        "email": "grace@example.org",
        "appointments": [
            {"id": 1, "services": [service], "staff_id": staff, "datetime": seances[0]["datetime"]}
        ],
    }
    if location == BERLIN:
        api(server, "POST", f"/book_code/{location}", json={"phone": phone})
        body["code"] = latest_code(server, phone)
    return api(server, "POST", f"/book_record/{location}", json=body)[0]


class TestBooking:
    def test_berlin_with_an_sms_code(
        self, page: Page, widget_server: Server, screenshots: Path
    ) -> None:
        phone = berlin_phone()
        page.goto(f"{widget_server.url}/b/1")
        check(page, screenshots, "berlin-1-service")
        choose_services(page, "Haircut & blow-dry")
        check(page, screenshots, "berlin-2-master")
        choose_member(page, "Lena Hoffmann")
        check(page, screenshots, "berlin-3-date")
        page.locator(".day.free").first.click()
        page.locator(".slot").first.wait_for()
        assert page.locator(".part h4").first.inner_text() in {"Morning", "Afternoon", "Evening"}
        check(page, screenshots, "berlin-4-time")
        time = choose_first_time(page)
        assert "time=" in page.url
        assert "services=101" in page.url
        assert "staff=201" in page.url
        check(page, screenshots, "berlin-5-contact")
        assert page.get_by_text("Please arrive five minutes early").is_visible()
        fill_contact(page, phone)
        page.get_by_role("button", name="Continue").click()
        # The privacy policy asks for consent first.
        assert "agree" in page.get_by_role("alert").inner_text()
        page.get_by_role("button", name="Read the privacy policy").click()
        page.get_by_text("never sell or share your data").wait_for()
        page.get_by_label("I agree to the processing of my personal data").check()
        with page.expect_response(f"**/api/v1/book_code/{BERLIN}"):
            page.get_by_role("button", name="Continue").click()
        assert page.get_by_text("You can ask for a new code in").is_visible()
        assert page.get_by_role("button", name="Send a new code").is_disabled()
        check(page, screenshots, "berlin-6-confirm")
        page.get_by_label("Code from the SMS").fill("000000")
        page.get_by_role("button", name="Book", exact=True).click()
        assert "4 tries left" in page.get_by_role("alert").inner_text()
        page.get_by_label("Code from the SMS").fill(latest_code(widget_server, phone))
        page.get_by_role("button", name="Book", exact=True).click()
        page.get_by_role("heading", name="You're booked!").wait_for()
        assert time in page.locator(".summary").inner_text()
        check(page, screenshots, "berlin-7-done")
        with page.expect_download() as download:
            page.get_by_role("link", name="Add to calendar (.ics)").click()
        ics = download.value.path().read_text()
        assert "BEGIN:VEVENT" in ics
        assert "Haircut & blow-dry" in ics
        manage = page.get_by_role("link", name="Manage this booking").get_attribute("href")
        assert manage is not None
        assert re.fullmatch(r"/r/1001/\d+/[0-9a-f]+", manage)

    def test_soho_specialist_first_without_a_code(
        self, page: Page, widget_server: Server, screenshots: Path
    ) -> None:
        seen: list[str] = []  # every request's URL and headers, every answer's headers and body
        page.on("request", lambda request: seen.append(f"{request.url} {request.headers}"))
        answers: list[Any] = []

        def keep(answer: Any) -> None:  # Playwright cannot take a bound builtin as a handler
            answers.append(answer)

        page.on("response", keep)
        page.goto(f"{widget_server.url}/b/2")
        # SoHo's form starts with the specialist, under its own title.
        assert title(page) == "Choose your specialist"
        check(page, screenshots, "soho-1-master")
        # The form shows positions rather than the free-text specialization.
        assert "Esthetician" in page.locator(".choice", has_text="Priya Nair").inner_text()
        choose_member(page, "Priya Nair")
        check(page, screenshots, "soho-2-service")
        assert page.get_by_label("Blowout").count() == 0  # Priya does not do blowouts
        choose_services(page, "Express facial")
        choose_first_time(page)
        fill_contact(page, soho_phone())
        page.get_by_role("button", name="Continue").click()
        # SoHo needs the e-mail.
        assert "E-mail" in page.get_by_role("alert").inner_text()
        page.get_by_label("E-mail").fill("ada@example.org")
        page.get_by_role("button", name="Continue").click()
        assert page.get_by_label("Code from the SMS").count() == 0
        check(page, screenshots, "soho-3-confirm")
        page.get_by_role("button", name="Book", exact=True).click()
        page.get_by_role("heading", name="You're booked!").wait_for()
        assert "Priya Nair" in page.locator(".summary").inner_text()
        for answer in answers:
            seen.append(str(answer.headers))
            if answer.request.resource_type in {"document", "script", "fetch", "stylesheet"}:
                seen.append(answer.text())
        assert any("obw_2_" in text for text in seen)  # the form's public key did the work
        assert not [text for text in seen if widget_server.token in text]

    def test_any_team_member(self, page: Page, widget_server: Server) -> None:
        page.goto(f"{widget_server.url}/b/1")
        choose_services(page, "Classic manicure")
        choose_member(page, "Any team member")
        assert "staff=0" in page.url
        choose_first_time(page)
        fill_contact(page, berlin_phone(), consent=True)
        phone = page.get_by_label("Phone").input_value()
        with page.expect_response(f"**/api/v1/book_code/{BERLIN}"):
            page.get_by_role("button", name="Continue").click()
        assert "Any team member" in page.locator(".summary").first.inner_text()
        page.get_by_label("Code from the SMS").fill(latest_code(widget_server, phone))
        page.get_by_role("button", name="Book", exact=True).click()
        page.get_by_role("heading", name="You're booked!").wait_for()
        # The only nail technician got the booking.
        assert "Mira Schulz" in page.locator(".summary").inner_text()

    def test_chain_form_starts_with_the_location(
        self, page: Page, widget_server: Server, screenshots: Path
    ) -> None:
        page.goto(f"{widget_server.url}/b/3")
        check(page, screenshots, "chain-1-location")
        page.locator("button.choice", has_text="Linden & Lark SoHo").click()
        assert f"company={SOHO}" in page.url
        choose_services(page, "Blowout")
        choose_member(page, "Camille Brooks")
        choose_first_time(page)
        fill_contact(page, soho_phone(), email="ada@example.org")
        page.get_by_role("button", name="Continue").click()
        assert "118 Greene Street" in page.locator(".summary").first.inner_text()
        page.get_by_role("button", name="Book", exact=True).click()
        page.get_by_role("heading", name="You're booked!").wait_for()

    def test_a_slot_taken_meanwhile_brings_back_that_days_times(
        self, page: Page, widget_server: Server
    ) -> None:
        page.goto(f"{widget_server.url}/b/2")
        choose_member(page, "Camille Brooks")
        choose_services(page, "Haircut & style")
        page.locator(".day.free").first.click()
        slot = page.locator(".slot").first
        slot.wait_for()
        day = page.locator("#times-title").inner_text()
        slot.click()
        chosen = re.search(r"time=([^&]+)", page.url)
        assert chosen is not None
        fill_contact(page, soho_phone(), email="ada@example.org")
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Book", exact=True).wait_for()
        # Someone else books that very time before the person presses Book.
        stolen = api(
            widget_server,
            "POST",
            f"/book_record/{SOHO}",
            json={
                "phone": soho_phone(),
                "fullname": "Someone Else",
                "email": "else@example.org",
                "appointments": [
                    {
                        "id": 1,
                        "services": [109],
                        "staff_id": 204,
                        "datetime": httpx.QueryParams(f"t={chosen[1]}")["t"],
                    }
                ],
            },
        )
        assert stolen[0]["record_id"]
        page.get_by_role("button", name="Book", exact=True).click()
        page.get_by_text("Someone has just booked that time").wait_for()
        assert page.locator("#times-title").inner_text() == day
        assert "time=" not in page.url
        # The day's times take the focus once they are drawn (app.js polls for them).
        expect(page.locator("#times-title")).to_be_focused()

    def test_a_hidden_step_is_skipped_with_its_default(
        self, page: Page, widget_server: Server, tmp_path: Path
    ) -> None:
        """A form added to the business file while the server runs, whose team member step is
        hidden: the person never sees it and gets any free team member."""
        document = yaml.safe_load(demo_path().read_text())
        berlin = next(location for location in document["locations"] if location["id"] == BERLIN)
        berlin["bookforms"].append(
            {
                "id": 4,
                "title": "Quick manicure",
                "steps": [
                    {"step": "service", "default": 104},
                    {"step": "master", "hidden": True},
                    {"step": "datetime"},
                    {"step": "contact"},
                    {"step": "confirm"},
                ],
            }
        )
        changed = tmp_path / "business.yaml"
        changed.write_text(yaml.safe_dump(document, allow_unicode=True))
        loaded = subprocess.run(
            [sys.executable, "-m", "openbooking", "load", str(changed)],
            env=widget_server.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert loaded.returncode == 0, loaded.stderr
        page.goto(f"{widget_server.url}/b/4")
        assert page.get_by_label("Classic manicure").is_checked()  # the step's default
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("heading", name="Choose a date and time").wait_for()
        assert page.locator(".progress").inner_text() == "Step 2 of 4"
        choose_first_time(page)
        phone = berlin_phone()
        fill_contact(page, phone)
        with page.expect_response(f"**/api/v1/book_code/{BERLIN}"):
            page.get_by_role("button", name="Continue").click()
        assert "Any team member" in page.locator(".summary").inner_text()
        page.get_by_label("Code from the SMS").fill(latest_code(widget_server, phone))
        page.get_by_role("button", name="Book", exact=True).click()
        page.get_by_role("heading", name="You're booked!").wait_for()
        assert "Mira Schulz" in page.locator(".summary").inner_text()

    def test_an_answer_lost_on_the_way_books_once_on_retry(
        self, page: Page, widget_server: Server
    ) -> None:
        """The server books, but the answer never reaches the browser; pressing Book again sends
        the same Idempotency-Key, and the person has one booking."""
        phone = soho_phone()
        dropped: list[str] = []

        def drop_first_answer(route: Any) -> None:
            if dropped:
                route.continue_()
                return
            route.fetch()  # the request reaches the server, which books
            dropped.append(route.request.headers["idempotency-key"])
            route.abort("connectionreset")

        page.route(f"**/api/v1/book_record/{SOHO}", drop_first_answer)
        page.goto(f"{widget_server.url}/b/2")
        choose_member(page, "Camille Brooks")
        choose_services(page, "Blowout")
        choose_first_time(page)
        fill_contact(page, phone, email="ada@example.org")
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Book", exact=True).click()
        page.get_by_text("can't reach").wait_for()
        with page.expect_request(f"**/api/v1/book_record/{SOHO}") as retry:
            page.get_by_role("button", name="Book", exact=True).click()
        assert retry.value.headers["idempotency-key"] == dropped[0]
        page.get_by_role("heading", name="You're booked!").wait_for()
        api(widget_server, "POST", f"/book_code/{SOHO}", json={"phone": phone})
        token = api(
            widget_server,
            "POST",
            "/user/auth",
            json={"phone": phone, "code": latest_code(widget_server, phone)},
        )["user_token"]
        records = httpx.get(
            f"{widget_server.url}/api/v1/user/records/1",
            headers={"Authorization": f"Bearer {widget_server.token}, User {token}"},
        ).json()["data"]
        assert len(records) == 1


class TestManage:
    def test_cancel_from_the_manage_link(
        self, page: Page, widget_server: Server, screenshots: Path
    ) -> None:
        booked = book_by_api(widget_server, SOHO, 205, 113, soho_phone())
        page.goto(f"{widget_server.url}/r/{SOHO}/{booked['record_id']}/{booked['record_hash']}")
        assert "Express facial" in page.locator(".summary").inner_text()
        check(page, screenshots, "manage-1-booking")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Cancel booking").click()
        page.get_by_role("heading", name="Appointment canceled").wait_for()
        assert page.get_by_role("status").inner_text() == "Your appointment has been canceled"
        assert page.get_by_role("button", name="Cancel booking").count() == 0

    def test_reschedule_after_confirming_the_phone(
        self, page: Page, widget_server: Server, screenshots: Path
    ) -> None:
        # SoHo books without a code, so the log-in code is the phone's first SMS (no back-off).
        phone = soho_phone()
        booked = book_by_api(widget_server, SOHO, 204, 110, phone)
        before = api(
            widget_server,
            "GET",
            f"/book_record/{SOHO}/{booked['record_id']}/{booked['record_hash']}",
        )["datetime"]
        page.goto(f"{widget_server.url}/r/{SOHO}/{booked['record_id']}/{booked['record_hash']}")
        page.get_by_role("button", name="Reschedule appointment").click()
        page.get_by_label("Phone").fill(phone)
        page.get_by_role("button", name="Send me a code").click()
        page.get_by_label("Code from the SMS").wait_for()
        page.get_by_label("Code from the SMS").fill(latest_code(widget_server, phone))
        page.get_by_role("button", name="Log in").click()
        page.locator(".day.free").nth(1).click()
        page.locator(".slot").first.wait_for()
        check(page, screenshots, "manage-2-reschedule")
        page.locator(".slot").first.click()
        page.get_by_role("status").wait_for()
        assert page.get_by_role("status").inner_text() == "Your booking has been moved."
        after = api(
            widget_server,
            "GET",
            f"/book_record/{SOHO}/{booked['record_id']}/{booked['record_hash']}",
        )["datetime"]
        assert after != before

    def test_the_rule_is_explained_when_it_forbids(self, page: Page, widget_server: Server) -> None:
        booked = book_by_api(widget_server, BERLIN, 202, 104, berlin_phone())
        record = api(
            widget_server,
            "GET",
            f"/book_record/{BERLIN}/{booked['record_id']}/{booked['record_hash']}",
        )
        start = datetime.fromisoformat(record["datetime"])
        # The person opens the link an hour before the visit: Berlin allows changes until 2 h.
        page.clock.install(time=start - timedelta(hours=1))
        page.goto(f"{widget_server.url}/r/{BERLIN}/{booked['record_id']}/{booked['record_hash']}")
        page.get_by_role("button", name="Cancel booking").click()
        alert = page.get_by_role("alert").inner_text()
        assert "less than 2 h" in alert
        assert "contact the administrator" in alert
        page.get_by_role("button", name="Reschedule appointment").click()
        assert "less than 2 h" in page.get_by_role("alert").inner_text()
        still = api(
            widget_server,
            "GET",
            f"/book_record/{BERLIN}/{booked['record_id']}/{booked['record_hash']}",
        )
        assert not still["deleted"]


class TestMyBookings:
    def test_log_in_list_cancel_log_out(
        self, page: Page, widget_server: Server, screenshots: Path
    ) -> None:
        phone = soho_phone()
        book_by_api(widget_server, SOHO, 204, 110, phone)
        book_by_api(widget_server, SOHO, 205, 114, phone)
        page.goto(f"{widget_server.url}/b/2")
        page.get_by_role("button", name="My bookings").click()
        assert "view=my" in page.url
        check(page, screenshots, "my-1-login")
        page.get_by_label("Phone").fill(phone)
        page.get_by_role("button", name="Send me a code").click()
        page.get_by_label("Code from the SMS").wait_for()
        page.get_by_label("Code from the SMS").fill(latest_code(widget_server, phone))
        page.get_by_role("button", name="Log in").click()
        cards = page.locator(".records .card")
        cards.first.wait_for()
        assert cards.count() == 2
        check(page, screenshots, "my-2-list")
        page.once("dialog", lambda dialog: dialog.accept())
        cards.filter(has_text="Brow shaping").get_by_role("button", name="Cancel booking").click()
        page.get_by_role("status").wait_for()
        upcoming = page.locator(".records").first
        assert "Blowout" in upcoming.inner_text()
        assert "Brow shaping" not in upcoming.inner_text()
        page.get_by_role("button", name="Log out").click()
        page.get_by_role("button", name="My bookings").click()
        page.get_by_role("button", name="Send me a code").wait_for()


class TestErrorsAndTheme:
    def test_offline_shows_a_retry(self, page: Page, widget_server: Server) -> None:
        page.goto(f"{widget_server.url}/b/1")
        page.locator("#step-title").wait_for()
        page.context.set_offline(True)
        choose_services(page, "Spa pedicure")
        alert = page.get_by_role("alert")
        alert.wait_for()
        assert "can't reach" in alert.inner_text()
        page.context.set_offline(False)
        page.get_by_role("button", name="Try again").click()
        page.get_by_role("heading", name="Choose a team member").wait_for()

    def test_every_palette_keeps_text_readable(self, page: Page, widget_server: Server) -> None:
        page.goto(f"{widget_server.url}/b/1")
        page.locator("#step-title").wait_for()
        worst = page.evaluate(
            """async () => {
              const theme = await import("/widget/static/theme.js");
              const names = ["red", "pink", "purple", "deep-purple", "indigo", "blue",
                "light-blue", "cyan", "teal", "green", "light-green", "lime", "yellow", "amber",
                "orange", "deep-orange", "brown", "grey", "blue-grey", "#ffffff", "#000000"];
              let worst = 21;
              for (const name of names) {
                const v = theme.applyTheme({primaryPalette: name, accentPalette: name,
                  warnPalette: name, backgroundPalette: name});
                worst = Math.min(worst,
                  theme.contrast(v["--primary"], v["--on-primary"]),
                  theme.contrast(v["--primary-text"], v["--surface"]),
                  theme.contrast(v["--primary-text"], v["--primary-soft"]),
                  theme.contrast(v["--ink"], v["--primary-soft"]),
                  theme.contrast(v["--warn"], v["--surface"]),
                  theme.contrast(v["--muted"], v["--surface"]),
                  theme.contrast(v["--ink"], v["--bg"]));
              }
              return worst;
            }"""
        )
        assert worst >= 4.5


class TestLanguagesAndViewports:
    def test_switching_the_language_keeps_the_choices(
        self, page: Page, widget_server: Server, screenshots: Path
    ) -> None:
        page.goto(f"{widget_server.url}/b/1")
        choose_services(page, "Men's haircut")
        page.get_by_label("Language").select_option("ru-RU")
        page.get_by_role("heading", name="Выберите специалиста").wait_for()
        assert page.locator("html").get_attribute("lang") == "ru-RU"
        assert "lang=ru-RU" in page.url
        assert "services=102" in page.url
        check(page, screenshots, "russian-master")
        page.reload()
        page.get_by_role("heading", name="Выберите специалиста").wait_for()

    def test_keyboard_only_booking(self, page: Page, widget_server: Server) -> None:
        page.goto(f"{widget_server.url}/b/2")
        page.locator("#step-title").wait_for()

        def tab_to(selector: str, limit: int = 80) -> None:
            for _ in range(limit):
                page.keyboard.press("Tab")
                if page.evaluate(f"document.activeElement.matches({selector!r})"):
                    return
            raise AssertionError(f"Tab never reached {selector}")

        tab_to("button.choice")  # "Any team member"
        page.keyboard.press("Enter")
        page.get_by_role("heading", name="Choose services").wait_for()
        tab_to("input[type=checkbox]")
        page.keyboard.press("Space")
        tab_to("button[type=submit]")
        page.keyboard.press("Enter")
        page.locator(".day.free").first.wait_for()
        tab_to(".day.free")
        page.keyboard.press("Enter")
        page.locator(".slot").first.wait_for()
        tab_to(".slot")
        page.keyboard.press("Enter")
        page.get_by_label("Name").wait_for()
        tab_to("#name")
        page.keyboard.type("Ada Lovelace")
        page.keyboard.press("Tab")
        page.keyboard.type(soho_phone())
        page.keyboard.press("Tab")
        page.keyboard.type("ada@example.org")
        tab_to("button[type=submit]")
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Book", exact=True).wait_for()
        tab_to("button[type=submit]")
        page.keyboard.press("Enter")
        page.get_by_role("heading", name="You're booked!").wait_for()
        # Focus follows each step: the success heading has it now.
        assert page.evaluate("document.activeElement.id") == "step-title"

    def test_a_320_px_screen(self, browser: Browser, widget_server: Server) -> None:
        context = browser.new_context(viewport={"width": 320, "height": 640})
        try:
            narrow = context.new_page()
            narrow.goto(f"{widget_server.url}/b/1")
            choose_services(narrow, "Gel manicure")
            choose_member(narrow, "Mira Schulz")
            narrow.locator(".day.free").first.click()
            narrow.locator(".slot").first.wait_for()
            for step in ("date", "contact"):
                width = narrow.evaluate("document.documentElement.scrollWidth")
                assert width <= 320, f"{step}: the page scrolls sideways ({width} px)"
                if step == "date":
                    narrow.locator(".slot").first.click()
                    narrow.get_by_label("Name").wait_for()
        finally:
            context.close()


# Pages of other sites are made up by the browser (page.route) on public names, and the widget
# server is on loopback: Chromium's private/local network access checks would block the public
# page's requests to loopback, which a real deployment (a public widget host) never meets.
EMBED_ARGS = [
    *LAUNCH_ARGS,
    "--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessSendPreflights,"
    "PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests",
]


@pytest.fixture(scope="module")
def embedding_browser(browser: Browser) -> Iterator[Browser]:
    launched = browser.browser_type.launch(executable_path=CHROMIUM, args=EMBED_ARGS, headless=True)
    yield launched
    launched.close()


@pytest.fixture
def shop(embedding_browser: Browser) -> Iterator[Page]:
    context = embedding_browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    try:
        yield context.new_page()
    finally:
        context.close()


class TestEmbedding:
    def shop_page(self, page: Page, origin: str, snippet: str) -> None:
        """A page of another site (served by the browser itself) with the embed snippet."""
        page.route(
            f"{origin}/",
            lambda route: route.fulfill(
                content_type="text/html",
                body=f"<!doctype html><html lang=en><title>Shop</title><h1>Shop</h1>{snippet}",
            ),
        )
        page.goto(f"{origin}/")

    def test_button_and_overlay(self, shop: Page, widget_server: Server) -> None:
        self.shop_page(
            shop, SHOP, f'<script src="{widget_server.url}/widget.js" data-form="1"></script>'
        )
        shop.get_by_role("button", name="Book online").click()
        frame = shop.frame_locator("iframe")
        frame.get_by_role("heading", name="Choose services").wait_for()
        shop.wait_for_function(
            "document.querySelector('iframe').getBoundingClientRect().height > 480"
        )
        shop.keyboard.press("Escape")  # the widget's heading has the focus, in the frame
        shop.locator("iframe").wait_for(state="detached")
        assert shop.evaluate("document.activeElement.textContent") == "Book online"

    def test_inline_frame_follows_its_content(self, shop: Page, widget_server: Server) -> None:
        self.shop_page(
            shop,
            SHOP,
            f'<script src="{widget_server.url}/widget.js" data-form="2" data-mode="inline">'
            "</script>",
        )
        frame = shop.frame_locator("iframe")
        frame.get_by_role("heading", name="Choose your specialist").wait_for()
        shop.wait_for_function("document.querySelector('iframe').style.height !== ''")
        first = shop.evaluate("document.querySelector('iframe').style.height")
        frame.locator("button.choice").first.click()
        frame.get_by_role("heading", name="Choose services").wait_for()
        shop.wait_for_function(f"document.querySelector('iframe').style.height !== {first!r}")

    def test_other_sites_cannot_frame_it(self, shop: Page, widget_server: Server) -> None:
        self.shop_page(
            shop,
            "https://elsewhere.example",
            f'<iframe src="{widget_server.url}/b/1" title="booking"></iframe>',
        )
        framed = shop.frame_locator("iframe")
        # Chromium refuses to render the page: none of the widget appears.
        shop.wait_for_load_state("load")
        assert framed.locator("#main").count() == 0

    def test_the_page_sends_nothing_to_others(self, page: Page, widget_server: Server) -> None:
        booked = book_by_api(widget_server, SOHO, 204, 109, soho_phone())
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{widget_server.url}/r/{SOHO}/{booked['record_id']}/{booked['record_hash']}")
        page.locator(".summary").wait_for()
        assert all(
            url.startswith(widget_server.url) or url.startswith("blob:") for url in requested
        ), requested
        headers = httpx.get(
            f"{widget_server.url}/r/{SOHO}/{booked['record_id']}/{booked['record_hash']}"
        ).headers
        assert headers["referrer-policy"] == "no-referrer"
        assert f"frame-ancestors 'self' {SHOP}" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]


def test_no_inline_script_or_style(widget_server: Server) -> None:
    html = httpx.get(f"{widget_server.url}/b/1").text
    assert "<script>" not in html
    assert "style=" not in html
    assert "<style" not in html
    assert 'src="/widget/static/app.js"' in html


def test_serve_demo_prints_every_forms_page(widget_server: Server) -> None:
    printed = widget_server.log.read_text()
    for form, title in ((1, "Book at Berlin Mitte"), (2, "Book at SoHo")):
        assert f"Booking widget: {widget_server.url}/b/{form}  ({title})" in printed
