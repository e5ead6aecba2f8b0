"""The business page in Debian's Chromium against a real `openbooking serve --demo`: business
users made with the CLI (password on stdin) log in and run a day at the front desk. Every page
state is checked with axe-core (no serious or critical violation) and photographed at 1280 and
375 px into var/screenshots/."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import accessible_and_photographed
from tests.conftest import SECRETS
from tests.server import running_server

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import Page

    from tests.server import Server

NEW_YORK, CAMILLE, PRIYA = 1002, 204, 205
PASSWORD = "front desk passphrase for the admin page"
SECRETS.add(PASSWORD)
WAIT = 30_000  # ms: a ceiling for the page's polling, never an assertion about time


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Every test logs in from 127.0.0.1: a per-address login budget for a whole front desk.
    home = tmp_path_factory.mktemp("admin")
    with running_server(home, password_checks_per_ip_minute="1000") as server:
        for email, role in (
            ("owner@example.org", ["--role", "owner", "--chain", "1"]),
            ("camille@example.org", ["--role", "member", "--staff", str(CAMILLE)]),
        ):
            added = subprocess.run(
                [sys.executable, "-m", "openbooking", "user", "add", email, *role],
                env=server.env,
                input=PASSWORD + "\n",
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert added.returncode == 0, added.stderr
        yield server


def api(server: Server, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method,
        f"{server.url}/api/v1{path}",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=30,
        **kwargs,
    )


def free_day(server: Server, staff: int = CAMILLE) -> tuple[str, int, list[str]]:
    """The first day ahead with at least four free times of the member's first service."""
    services = api(server, "GET", f"/book_services/{NEW_YORK}", params={"staff_id": staff})
    service = services.json()["data"]["services"][0]["id"]
    for ahead in range(2, 14):
        day = (datetime.now(UTC).date() + timedelta(days=ahead)).isoformat()
        times = api(
            server, "GET", f"/book_times/{NEW_YORK}/{staff}/{day}", params={"service_ids": service}
        ).json()["data"]
        if len(times) >= 4:
            return day, service, [slot["time"] for slot in times]
    raise AssertionError("no free day for the member")


def check(page: Page, screenshots: Path, name: str) -> None:
    accessible_and_photographed(page, screenshots, f"admin-{name}")


def log_in(page: Page, server: Server, email: str = "owner@example.org") -> None:
    page.goto(f"{server.url}/admin")
    page.get_by_label("E-mail or phone").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()


def open_day(page: Page, day: str) -> None:
    """New York on `day`, as a bookmark of the page opens it."""
    page.goto(page.url.split("#")[0] + f"#{NEW_YORK}/{day}")
    page.reload()
    page.locator(f"#staff-{CAMILLE}").wait_for()
    assert page.get_by_label("Date", exact=True).input_value() == day


def test_log_in_and_see_the_day(page: Page, desk: Server, screenshots: Path) -> None:
    page.goto(f"{desk.url}/admin")
    page.get_by_label("E-mail or phone").wait_for()
    check(page, screenshots, "login")
    page.get_by_label("E-mail or phone").fill("owner@example.org")
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Wrong login, password or code.").wait_for()
    log_in(page, desk)
    day, _, _ = free_day(desk)
    open_day(page, day)
    columns = page.locator(".column h2").all_inner_texts()
    assert any("Camille" in text for text in columns), columns
    assert len(columns) > 1
    page.get_by_role("button", name="Next", exact=True).click()
    following = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    page.wait_for_url(f"**#{NEW_YORK}/{following}")
    assert page.get_by_label("Date", exact=True).input_value() == following
    cookies = page.context.cookies()
    assert [cookie["httpOnly"] for cookie in cookies] == [True]
    assert page.evaluate("document.cookie") == ""  # nothing a script could read
    check(page, screenshots, "day")


def test_walk_in_move_no_show_cancel(page: Page, desk: Server, screenshots: Path) -> None:
    day, _, times = free_day(desk)
    log_in(page, desk)
    open_day(page, day)
    page.get_by_role("button", name="Add booking").click()
    page.get_by_label("Team member").select_option(str(CAMILLE))
    page.get_by_label("Date", exact=True).last.fill(day)
    page.get_by_label("Free time").select_option(times[0])
    page.get_by_label("Client phone").fill("+12125550177")
    page.get_by_label("Client name").fill("Walter Walk-in")
    check(page, screenshots, "add")
    page.get_by_role("button", name="Book", exact=True).click()
    block = page.locator(".block", has_text="Walter Walk-in")
    block.wait_for()
    assert times[0] in block.inner_text()

    block.click()
    page.get_by_role("dialog").get_by_text("Walter Walk-in").first.wait_for()
    check(page, screenshots, "booking")
    page.get_by_label("Time", exact=True).fill(times[-1])
    page.get_by_role("button", name="Move", exact=True).click()
    page.locator(".block", has_text=f"{times[-1]} Walter Walk-in").wait_for()

    page.locator(".block", has_text="Walter Walk-in").click()
    page.get_by_role("button", name="No-show").click()
    page.locator(".block.att-1", has_text="Walter Walk-in").wait_for()

    page.locator(".block", has_text="Walter Walk-in").click()
    page.once("dialog", lambda confirm: confirm.accept())
    page.get_by_role("button", name="Cancel booking").click()
    page.locator(".block", has_text="Walter Walk-in").wait_for(state="detached")


def test_a_refused_move_says_why(page: Page, desk: Server) -> None:
    day, _, times = free_day(desk)
    log_in(page, desk)
    open_day(page, day)
    for name, time, phone in (
        ("Ada First", times[0], "+12125550166"),
        ("Bob Second", times[2], "+12125550165"),
    ):
        page.get_by_role("button", name="Add booking").click()
        page.get_by_label("Team member").select_option(str(CAMILLE))
        page.get_by_label("Free time").select_option(time)
        page.get_by_label("Client phone").fill(phone)
        page.get_by_label("Client name").fill(name)
        page.get_by_role("button", name="Book", exact=True).click()
        page.locator(".block", has_text=name).wait_for()
    page.locator(".block", has_text="Bob Second").click()
    page.get_by_label("Time", exact=True).fill(times[0])
    page.get_by_role("button", name="Move", exact=True).click()
    alert = page.get_by_role("dialog").get_by_role("alert")
    alert.filter(has_text="busy").or_(alert.filter(has_text="taken")).or_(
        alert.filter(has_text="not available")
    ).first.wait_for()
    assert alert.first.inner_text().strip()


def test_block_time_lists_the_bookings_it_would_hit(
    page: Page, desk: Server, screenshots: Path
) -> None:
    day, _, times = free_day(desk)
    log_in(page, desk)
    open_day(page, day)
    page.get_by_role("button", name="Add booking").click()
    page.get_by_label("Team member").select_option(str(CAMILLE))
    page.get_by_label("Free time").select_option(times[1])
    page.get_by_label("Client phone").fill("+12125550155")
    page.get_by_label("Client name").fill("Hit By Break")
    page.get_by_role("button", name="Book", exact=True).click()
    page.locator(".block", has_text="Hit By Break").wait_for()

    page.get_by_role("button", name="Block time").click()
    page.get_by_label("Team member").select_option(str(CAMILLE))
    page.get_by_label("the whole day").check()
    page.get_by_role("button", name="Block", exact=True).click()
    page.get_by_text("It would hit these bookings").wait_for()
    check(page, screenshots, "block-refused")
    page.get_by_role("button", name="Close").click()

    page.get_by_role("button", name="Block time").click()
    page.get_by_label("Team member").select_option(str(PRIYA))
    page.get_by_label("the whole day").check()
    page.get_by_role("button", name="Block", exact=True).click()
    page.locator(".column", has_text="day off").wait_for()


def test_a_team_member_sees_only_their_column(page: Page, desk: Server) -> None:
    day, _, _ = free_day(desk)
    log_in(page, desk, "camille@example.org")
    open_day(page, day)
    assert [text.split(" ·")[0] for text in page.locator(".column h2").all_inner_texts()] == [
        "Camille"
    ] or len(page.locator(".column").all()) == 1


def test_a_public_booking_appears_on_the_open_page(
    page: Page, desk: Server, screenshots: Path
) -> None:
    day, service, times = free_day(desk)
    log_in(page, desk)
    open_day(page, day)
    booked = api(
        desk,
        "POST",
        f"/book_record/{NEW_YORK}",
        json={
            "phone": "+12125550144",
            "fullname": "Wanda Widget",
            "email": "wanda@example.org",
            "notify_by_sms": 2,
            "notify_by_email": 24,
            "appointments": [
                {
                    "id": 1,
                    "services": [service],
                    "staff_id": CAMILLE,
                    "datetime": f"{day}T{times[-2]}:00",
                }
            ],
        },
    )
    assert booked.status_code == 201, booked.text
    page.locator(".block", has_text="Wanda Widget").wait_for(timeout=WAIT)
    page.get_by_text("The day has changed.").wait_for(state="attached")
    check(page, screenshots, "day-bookings")

    # Its SMS and e-mail state: queued, then sent by a round of `notifications run`.
    page.locator(".block", has_text="Wanda Widget").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("to wanda@example.org, reminder 24 h before").wait_for()
    assert "reminder 2 h before: due" in dialog.locator("#sms-state").inner_text()
    messages = dialog.get_by_role("listitem")
    messages.filter(has_text="Confirmation e-mail to wanda@example.org: pending").wait_for()
    messages.filter(has_text="Reminder e-mail to wanda@example.org: pending").wait_for()
    check(page, screenshots, "booking-notices")
    page.keyboard.press("Escape")
    delivered = subprocess.run(
        [sys.executable, "-m", "openbooking", "notifications", "run"],
        env=desk.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert delivered.returncode == 0, delivered.stderr
    page.locator(".block", has_text="Wanda Widget").click()
    messages.filter(has_text="Confirmation e-mail to wanda@example.org: sent").wait_for()
    messages.filter(has_text="Reminder e-mail to wanda@example.org: pending").wait_for()


def test_log_out_ends_the_session(page: Page, desk: Server) -> None:
    log_in(page, desk)
    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are logged out.").wait_for()
    page.reload()
    page.get_by_label("E-mail or phone").wait_for()


@contextmanager
def answers_held(page: Page, pattern: str) -> Iterator[list[Any]]:
    """Requests to `pattern` reach the server at once, but their answers reach the page only
    when the block ends, and are then given time to be drawn. Yields the held requests."""
    held: list[tuple[Any, Any]] = []
    page.route(pattern, lambda route: held.append((route, route.fetch())))
    yield held
    with page.expect_response(lambda response: response.url == held[-1][0].request.url):
        for route, answer in held:
            route.fulfill(response=answer)
    page.unroute(pattern)
    page.evaluate("() => new Promise((done) => setTimeout(done, 200))")  # time to draw them


def test_log_out_while_the_day_loads(page: Page, desk: Server) -> None:
    """The day's records answer only after the click on Log out: the page stays logged out."""
    with answers_held(page, "**/api/v1/records/*?*") as held:
        log_in(page, desk)
        page.get_by_role("button", name="Log out").click()
        page.get_by_text("You are logged out.").wait_for()
        assert held, "the day view asked for its records"
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    expect(page.get_by_label("E-mail or phone")).to_be_visible()
    expect(page.locator(f"#staff-{CAMILLE}")).to_have_count(0)


def test_the_location_chosen_last_stays_shown(page: Page, desk: Server) -> None:
    """Berlin's day answers only after SoHo's is drawn: SoHo's stays on the page."""
    with answers_held(page, "**/api/v1/records/1001?*") as held:
        log_in(page, desk)
        page.get_by_label("Location").select_option(label="Linden & Lark SoHo")
        page.locator(f"#staff-{CAMILLE}").wait_for()
        assert held, "Berlin's day asked for its records"
    expect(page.locator(f"#staff-{CAMILLE}")).to_be_visible()
    expect(page.get_by_text("Lena Hoffmann")).to_have_count(0)


def test_serve_prints_the_business_page(desk: Server) -> None:
    banner = desk.log.read_text()
    assert f"Business page on {desk.url}/admin" in banner
    assert "openbooking user add EMAIL --role owner --chain 1" in banner


def test_keyboard_only(page: Page, desk: Server) -> None:
    """Log in, open a booking and mark it came with the keyboard alone."""
    day, _, times = free_day(desk)
    page.goto(f"{desk.url}/admin#{NEW_YORK}/{day}")
    page.get_by_label("E-mail or phone").wait_for()
    page.keyboard.type("owner@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.locator(f"#staff-{CAMILLE}").wait_for()
    booked = page.evaluate(
        """async ([company, staff, when]) => {
            const services = await (await fetch(`/api/v1/services/${company}`,
              {headers: {"X-OpenBooking-Admin": "1"}})).json();
            const answer = await fetch(`/api/v1/records/${company}`, {method: "POST",
              headers: {"X-OpenBooking-Admin": "1", "Content-Type": "application/json"},
              body: JSON.stringify({staff_id: staff, services: [{id: services.data[0].id}],
                datetime: when, client: {name: "Kim Keys", phone: "+12125550133"}})});
            return answer.status;
        }""",
        [NEW_YORK, CAMILLE, f"{day}T{times[0]}:00"],
    )
    assert booked == 201
    page.locator(".block", has_text="Kim Keys").wait_for(timeout=WAIT)
    for _ in range(200):  # a poll may re-render the day and send the focus back to the start
        page.keyboard.press("Tab")
        focused = "document.activeElement.dataset.record && document.activeElement.textContent"
        if "Kim Keys" in (page.evaluate(focused) or ""):
            break
    else:
        raise AssertionError("the booking cannot be reached with Tab")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Came").wait_for()
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    page.keyboard.press("Enter")  # the focus is back on the booking
    dialog.get_by_role("button", name="Came").focus()
    page.keyboard.press("Enter")
    page.locator(".block.att1", has_text="Kim Keys").wait_for()


def test_change_the_service(page: Page, desk: Server) -> None:
    day, _, times = free_day(desk)
    log_in(page, desk)
    open_day(page, day)
    page.get_by_role("button", name="Add booking").click()
    page.get_by_label("Team member").select_option(str(CAMILLE))
    page.get_by_label("Free time").select_option(times[0])
    page.get_by_label("Client phone").fill("+12125550122")
    page.get_by_label("Client name").fill("Sam Service")
    page.get_by_role("button", name="Book", exact=True).click()
    block = page.locator(".block", has_text="Sam Service")
    block.wait_for()
    before = block.inner_text()
    block.click()
    services = page.get_by_role("dialog").get_by_role("group", name="Services of this booking")
    services.get_by_role("checkbox").first.wait_for()
    titles = [text.split("·")[0].strip() for text in services.locator("label").all_inner_texts()]
    current = next(title for title in titles if title in before)
    other = next(title for title in titles if title not in before)
    services.get_by_label(other).check()
    services.get_by_label(current).uncheck()
    page.get_by_role("button", name="Change services").click()
    changed = page.locator(".block", has_text="Sam Service").filter(has_text=other)
    changed.wait_for()
    assert current not in changed.inner_text()


def test_two_services_in_one_booking(page: Page, desk: Server, screenshots: Path) -> None:
    """A walk-in for two services: the free times are those of both together, the booking
    holds both, and Change services takes one away again."""
    day, first, _ = free_day(desk)
    offered = api(desk, "GET", f"/book_services/{NEW_YORK}", params={"staff_id": CAMILLE})
    second = next(s for s in offered.json()["data"]["services"] if s["id"] != first)
    both = api(
        desk,
        "GET",
        f"/book_times/{NEW_YORK}/{CAMILLE}/{day}",
        params={"service_ids[]": [first, second["id"]]},
    ).json()["data"]
    assert both, "two services fit somewhere that day"
    log_in(page, desk)
    open_day(page, day)
    page.get_by_role("button", name="Add booking").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Team member").select_option(str(CAMILLE))
    chosen = dialog.get_by_role("group", name="Services")
    chosen.get_by_label(second["title"]).check()
    expect(dialog.locator("#add-time option")).to_have_text([slot["time"] for slot in both])
    dialog.get_by_label("Free time").select_option(both[0]["time"])
    dialog.get_by_label("Client phone").fill("+12125550121")
    dialog.get_by_label("Client name").fill("Tina Two")
    check(page, screenshots, "add-two-services")
    dialog.get_by_role("button", name="Book", exact=True).click()
    block = page.locator(".block", has_text="Tina Two")
    block.filter(has_text=second["title"]).wait_for()
    block.click()
    services = dialog.get_by_role("group", name="Services of this booking")
    assert services.get_by_label(second["title"]).is_checked()
    checked = services.locator("input:checked")
    assert checked.count() == 2
    services.get_by_label(second["title"]).uncheck()
    page.get_by_role("button", name="Change services").click()
    page.get_by_text("Services changed.").wait_for(state="attached")
    expect(page.locator(".block", has_text="Tina Two")).not_to_contain_text(second["title"])


def test_a_week_for_one_team_member(page: Page, desk: Server, screenshots: Path) -> None:
    day, _, _ = free_day(desk)
    log_in(page, desk)
    open_day(page, day)
    page.get_by_label("View").select_option(label="Week: Camille Brooks")
    page.wait_for_url(f"**/week/{CAMILLE}")
    page.locator(f"#day-{day}").wait_for()
    headings = page.locator(".column h2").all_inner_texts()
    assert len(headings) == 7, headings
    assert any(day in text for text in headings)
    monday = date.fromisoformat(headings[0].split(" ")[0])
    assert monday.weekday() == 0
    check(page, screenshots, "week")
    page.get_by_role("button", name="Next", exact=True).click()
    following = (monday + timedelta(days=7)).isoformat()
    page.locator(".column h2", has_text=following).wait_for()


def add_session(page: Page, day: str, service: int, when: str, places: int) -> int:
    """Add a group session led by Priya through the page; its id."""
    page.get_by_role("button", name="Add session").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Led by").select_option(str(PRIYA))
    dialog.get_by_label("Kind of session").select_option(str(service))
    dialog.get_by_label("Date").fill(day)
    dialog.get_by_label("Starts at").fill(when)
    dialog.get_by_label("Places").fill(str(places))
    dialog.get_by_role("button", name="Add session").click()
    block = page.locator(f"#staff-{PRIYA}").locator("..").locator(".block.group", has_text=when)
    block.wait_for()
    return int(block.get_attribute("data-activity") or 0)


def test_a_group_session_who_booked_and_cancelling(
    page: Page, desk: Server, screenshots: Path
) -> None:
    day, service, times = free_day(desk, PRIYA)
    log_in(page, desk)
    open_day(page, day)
    page.get_by_role("button", name="Add session").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Led by").select_option(str(PRIYA))
    check(page, screenshots, "session-add")
    dialog.get_by_role("button", name="Close").click()
    session = add_session(page, day, service, times[1], 4)
    page.get_by_text("Session added.").wait_for(state="attached")
    seat = {"fullname": "Grace Group", "phone": "+12125550111", "email": "grace@example.org"}
    booked = api(
        desk, "POST", f"/activity/{NEW_YORK}/{session}/book", json=seat | {"clients_count": 2}
    )
    assert booked.status_code == 200, booked.text
    block = page.locator(f'[data-activity="{session}"]')
    block.filter(has_text="2/4 booked").wait_for(timeout=WAIT)  # the page polls
    check(page, screenshots, "day-session")
    block.click()
    dialog = page.get_by_role("dialog")
    row = dialog.get_by_role("row", name="Grace Group")
    row.wait_for()
    assert "2" in row.get_by_role("cell").nth(2).inner_text()
    assert dialog.get_by_text("2 of 4 booked, 2 left").is_visible()
    check(page, screenshots, "session")

    page.once("dialog", lambda confirm: confirm.accept())
    dialog.get_by_role("button", name="Cancel session").click()
    dialog.get_by_role("alert").filter(has_text="booked seat").wait_for()
    assert row.is_visible(), "nothing is lost: the attendee is still listed"
    check(page, screenshots, "session-refused")

    page.once("dialog", lambda confirm: confirm.accept())
    dialog.get_by_role("button", name="Cancel the booking of Grace Group").click()
    dialog.get_by_text("No one has booked yet.").wait_for()
    assert dialog.get_by_text("0 of 4 booked, 4 left").is_visible()
    page.once("dialog", lambda confirm: confirm.accept())
    dialog.get_by_role("button", name="Cancel session").click()
    page.get_by_text("Session cancelled.").wait_for(state="attached")
    block.wait_for(state="detached")


def test_an_ended_session_shows_the_log_in_form(
    page: Page, desk: Server, screenshots: Path
) -> None:
    """When the server ends the session (idle minutes, 12 hours, a log-out elsewhere), the
    open page's next call finds out and shows the log-in form saying why."""
    day, _, _ = free_day(desk)
    log_in(page, desk)
    open_day(page, day)
    ended = page.context.request.delete(
        f"{desk.url}/admin/session", headers={"X-OpenBooking-Admin": "1"}
    )
    assert ended.status == 200
    alert = page.get_by_role("alert").filter(has_text="Your session has ended")
    alert.wait_for(timeout=WAIT)  # the page polls
    assert "not used for 30 minutes" in alert.inner_text()
    page.get_by_label("E-mail or phone").wait_for()
    check(page, screenshots, "session-ended")
    log_in(page, desk)


def tab_to(page: Page, check: str, *, back: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focused element passes `check`, a JS expression
    about `el`; a person's way through the page, never a click."""
    for _ in range(200):
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!({check}); }})()"):
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"nothing passing {check} can be reached with Tab")


def type_time(page: Page, hhmm: str) -> None:
    """Type a time into Chromium's time field (en-US: hours, minutes, AM/PM)."""
    hours, minutes = (int(part) for part in hhmm.split(":"))
    page.keyboard.type(f"{(hours - 1) % 12 + 1:02d}{minutes:02d}{'A' if hours < 12 else 'P'}")


def test_keyboard_only_sessions_and_services(page: Page, desk: Server) -> None:
    """Add a session, cancel a seat and the session, and book two services, with the keyboard
    alone."""
    day, _, times = free_day(desk, PRIYA)
    log_in(page, desk)
    open_day(page, day)
    button = "el.tagName === 'BUTTON' && el.textContent === "
    tab_to(page, button + "'Add session'")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Led by").wait_for()
    tab_to(page, "el.id === 'session-staff'")
    page.keyboard.type("Priya")
    tab_to(page, "el.id === 'session-time'")
    type_time(page, times[2])
    tab_to(page, "el.id === 'session-capacity'")
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    page.get_by_text("Session added.").wait_for(state="attached")
    block = page.locator(".block.group", has_text=times[2])
    block.wait_for()
    session = int(block.get_attribute("data-activity") or 0)
    seat = {"fullname": "Kai Keys", "phone": "+12125550112", "email": "kai@example.org"}
    booked = api(desk, "POST", f"/activity/{NEW_YORK}/{session}/book", json=seat)
    assert booked.status_code == 200, booked.text
    block.filter(has_text="1/3 booked").wait_for(timeout=WAIT)
    tab_to(page, f"el.dataset && el.dataset.activity === '{session}'")
    page.keyboard.press("Enter")
    dialog.get_by_role("row", name="Kai Keys").wait_for()
    tab_to(page, button + "'Cancel' && el.getAttribute('aria-label').includes('Kai Keys')")
    page.once("dialog", lambda confirm: confirm.accept())
    page.keyboard.press("Enter")
    dialog.get_by_text("No one has booked yet.").wait_for()
    tab_to(page, button + "'Cancel session'")
    page.once("dialog", lambda confirm: confirm.accept())
    page.keyboard.press("Enter")
    page.get_by_text("Session cancelled.").wait_for(state="attached")
    block.wait_for(state="detached")

    tab_to(page, button + "'Add booking'", back=True)
    page.keyboard.press("Enter")
    tab_to(page, "el.id === 'add-staff'")
    page.keyboard.type("Priya")
    services = dialog.get_by_role("group", name="Services")
    second = services.get_by_role("checkbox").nth(1)
    second.wait_for()
    tab_to(page, "el.type === 'checkbox' && !el.checked")
    page.keyboard.press("Space")
    assert services.locator("input:checked").count() == 2
    tab_to(page, "el.id === 'add-time'")
    expect(dialog.locator("#add-time option").first).not_to_have_text("…")
    tab_to(page, "el.id === 'add-phone'")
    page.keyboard.type("+12125550113")
    page.keyboard.press("Tab")
    page.keyboard.type("Kim Two Keys")
    page.keyboard.press("Enter")
    page.get_by_text("Booked.").wait_for(state="attached")
    page.locator(".block", has_text="Kim Two Keys").wait_for()
