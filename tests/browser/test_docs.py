"""/docs: Swagger UI, served from the installed package, renders our OpenAPI 3.1 document."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx

from tests.browser.conftest import DESKTOP, PHONE

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Page

    from tests.server import Server

# What Swagger UI shows instead of operations when it cannot read the document.
ERRORS = ".swagger-ui .version-pragma, .swagger-ui .errors-wrapper"
BOOKFORM = "#operations-catalog-get_bookform_api_v1_bookform__bookform_id__get"


def open_docs(page: Page, server: Server) -> None:
    """Open /docs and wait until Swagger UI has rendered operations, or given up."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{server.url}/docs")
    page.wait_for_selector(f".swagger-ui .opblock, {ERRORS}")
    assert page.locator(ERRORS).count() == 0, page.locator(".swagger-ui").inner_text()
    outside = [url for url in requested if not url.startswith(server.url)]
    assert not outside, f"the docs page loaded from elsewhere: {outside}"


class TestDocs:
    def test_renders_every_tag_and_operation(
        self, page: Page, server: Server, screenshots: Path
    ) -> None:
        open_docs(page, server)
        document = httpx.get(f"{server.url}/openapi.json").json()
        assert document["openapi"].startswith("3.1")
        assert "OAS 3.1" in page.locator(".swagger-ui .info").inner_text()
        for tag in ("catalog", "availability", "verification", "bookings"):
            assert page.locator(f".opblock-tag[data-tag='{tag}']").is_visible(), tag
        book_record = page.locator(
            ".opblock-post .opblock-summary-path", has_text="/api/v1/book_record/{location_id}"
        )
        assert book_record.first.is_visible()
        operations = sum(
            len([method for method in item if method != "parameters"])
            for item in document["paths"].values()
        )
        assert page.locator(".opblock").count() == operations
        for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)  # type: ignore[arg-type]
            page.screenshot(path=screenshots / f"docs-{name}.png")

    def test_try_it_out_sends_the_request_to_this_server(self, page: Page, server: Server) -> None:
        open_docs(page, server)
        operation = page.locator(BOOKFORM)
        operation.locator(".opblock-summary").click()
        operation.get_by_role("button", name="Try it out").click()
        operation.locator("input[placeholder='bookform_id']").fill("1")
        with page.expect_response(f"{server.url}/api/v1/bookform/1") as answer:
            operation.get_by_role("button", name="Execute").click()
        # Not authorized on the page yet: the API's own 401 envelope comes back.
        assert answer.value.status == 401
        responses = operation.locator(".live-responses-table")
        responses.locator(".response-col_status").first.wait_for()
        assert "401" in responses.inner_text()
        assert '"success": false' in responses.inner_text()


def free_booking(server: Server) -> dict[str, object]:
    """A book_record body for the earliest free slot with the demo's New York member (New York
    books without an SMS code)."""
    headers = {"Authorization": f"Bearer {server.token}"}
    services = httpx.get(
        f"{server.url}/api/v1/book_services/1002", params={"staff_id": 204}, headers=headers
    ).json()["data"]["services"]
    service = services[0]["id"]
    seances = httpx.get(
        f"{server.url}/api/v1/book_staff_seances/1002/204",
        params={"service_ids": service},
        headers=headers,
    ).json()["data"]["seances"]
    return {
        "phone": "+12125550142",
        "fullname": "Grace Hopper",
        "email": "grace@example.org",
        "appointments": [
            {"id": 1, "services": [service], "staff_id": 204, "datetime": seances[0]["datetime"]}
        ],
    }


class TestBookingFromTheDocs:
    def test_authorize_and_book(self, page: Page, server: Server) -> None:
        """A new user finds book_record's body in the docs and books with it, from the page."""
        body = free_booking(server)
        open_docs(page, server)
        page.locator(".auth-wrapper .authorize").click()
        dialog = page.locator(".modal-ux")
        dialog.get_by_role("textbox").fill(server.token)
        dialog.get_by_role("button", name="Apply credentials").click()
        dialog.get_by_role("button", name="Close").click()
        operation = page.locator(
            "#operations-bookings-post_book_record_api_v1_book_record__location_id__post"
        )
        operation.locator(".opblock-summary").click()
        assert "appointments" in operation.locator(".body-param__example").inner_text()
        operation.get_by_role("button", name="Try it out").click()
        operation.locator("input[placeholder='location_id']").fill("1002")
        operation.locator("textarea.body-param__text").fill(json.dumps(body))
        with page.expect_response(f"{server.url}/api/v1/book_record/1002") as answer:
            operation.get_by_role("button", name="Execute").click()
        assert answer.value.status == 201, answer.value.text()
        booked = answer.value.json()["data"][0]
        assert booked["id"] == 1
        assert booked["record_id"] > 0
        live = operation.locator(".live-responses-table")
        live.locator(".response-col_status").first.wait_for()
        assert "201" in live.inner_text()
