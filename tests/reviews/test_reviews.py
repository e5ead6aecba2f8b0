"""Reviews after a visit: the request SMS (once per visit, across runs), the form, the one
review per visit, and the ratings it feeds without touching the catalog version."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update
from typer.testing import CliRunner

from openbooking.cli import app as cli
from openbooking.config import Settings
from openbooking.kit.db import create_engine, create_sessionmaker
from openbooking.kit.envelope import Dialect
from openbooking.models import CatalogVersion, Location, Record, Review
from openbooking.reviews.notify import send_review_requests
from openbooking.sms.base import SmsDeliveryError, SmsMessage
from tests.bookings.helpers import CAMILLE, NY_PHONE, ny_booking, ny_service, slots
from tests.conftest import LOG_LINES, SECRETS
from tests.test_reference_schemas import assert_valid, component_schema, response_schema
from tests.verification.conftest import NEW_YORK

if TYPE_CHECKING:
    import time_machine
    from fastapi import FastAPI

    from tests.verification.conftest import Customer

pytestmark = pytest.mark.usefixtures("clock")
LINK = "https://book.example.org/review/{token}"
TOKEN = re.compile(r"https://book\.example\.org/review/([A-Za-z0-9_-]+)$")


class Recorder:
    def __init__(self, *, fail: bool = False) -> None:
        self.sent: list[SmsMessage] = []
        self.fail = fail

    async def send(self, message: SmsMessage) -> None:
        await asyncio.sleep(0)  # let a concurrent run interleave here
        if self.fail:
            raise SmsDeliveryError("gateway down")
        self.sent.append(message)

    def tokens(self) -> list[str]:
        found = []
        for sms in self.sent:
            match = TOKEN.search(sms.text)
            assert match, sms.text
            SECRETS.add(match[1])
            found.append(match[1])
        return found


async def book(customer: Customer, index: int = 0) -> tuple[dict[str, Any], datetime]:
    """Book Camille's `index`-th free slot on the test day: the answer item and its end."""
    service = await ny_service(customer)
    when = (await slots(customer, NEW_YORK, CAMILLE, service))[index]
    response = await customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, when))
    assert response.status_code == 201, response.text
    item = response.json()["data"][0]
    path = f"/book_record/{NEW_YORK}/{item['record_id']}/{item['record_hash']}"
    length = (await customer.get(path)).json()["data"]["length"]
    return item, datetime.fromisoformat(when) + timedelta(seconds=length)


async def run(app: FastAPI, sender: Any, engine: Any = None) -> Any:
    return await send_review_requests(
        create_sessionmaker(engine or app.state.engine),
        sender,
        key=app.state.secret_key,
        link=LINK,
    )


async def visited(app: FastAPI, customer: Customer, clock: time_machine.Traveller) -> str:
    """A visit that has just ended, its review request sent: the link's token."""
    _, ended = await book(customer)
    clock.move_to(ended + timedelta(minutes=5))
    sender = Recorder()
    assert (await run(app, sender)).sent == 1
    (token,) = sender.tokens()
    return token


async def catalog_version(run_in_session: Any) -> int:
    async def read(session: Any) -> int:
        return int(await session.scalar(select(CatalogVersion.version)))

    version: int = await run_in_session(read)
    return version


@pytest.mark.usefixtures("demo")
class TestReviewRequests:
    async def test_one_sms_after_the_visit_has_ended(
        self, app: FastAPI, customer: Customer, clock: time_machine.Traveller
    ) -> None:
        _, ended = await book(customer)
        sender = Recorder()
        clock.move_to(ended - timedelta(seconds=1))
        assert (await run(app, sender)).due == 0, "not before the end"
        clock.move_to(ended)
        result = await run(app, sender)
        assert (result.due, result.sent, result.failed) == (1, 1, 0)
        (sms,) = sender.sent
        assert sms.to == NY_PHONE
        (token,) = sender.tokens()
        assert len(token) == 16
        assert sms.text == (
            "Linden & Lark SoHo: thank you for your visit! How was it? "
            f"https://book.example.org/review/{token}"
        )
        clock.shift(timedelta(hours=1))
        assert (await run(app, sender)).due == 0, "never twice"

    async def test_only_the_digest_of_the_token_is_stored(
        self,
        app: FastAPI,
        customer: Customer,
        clock: time_machine.Traveller,
        run_in_session: Any,
    ) -> None:
        token = await visited(app, customer, clock)

        async def digests(session: Any) -> list[str]:
            return list(await session.scalars(select(Review.token_digest)))

        (digest,) = await run_in_session(digests)
        assert token not in digest
        assert len(digest) == 64
        assert not any(token in line for line in LOG_LINES)

    async def test_concurrent_runs_text_each_visit_once(
        self,
        app: FastAPI,
        settings: Settings,
        customer: Customer,
        clock: time_machine.Traveller,
    ) -> None:
        ends = [(await book(customer, index))[1] for index in (0, 4, 8)]
        clock.move_to(max(ends) + timedelta(minutes=1))
        sender = Recorder()
        engines = [create_engine(settings.database_url) for _ in range(4)]
        try:
            runs = await asyncio.gather(*(run(app, sender, engine) for engine in engines))
        finally:
            for engine in engines:
                await engine.dispose()
        assert sum(result.sent for result in runs) == 3
        assert len(sender.sent) == 3
        assert len(set(sender.tokens())) == 3

    async def test_a_failed_send_is_retried_with_a_new_link(
        self, app: FastAPI, customer: Customer, clock: time_machine.Traveller
    ) -> None:
        _, ended = await book(customer)
        clock.move_to(ended + timedelta(minutes=1))
        failed = await run(app, Recorder(fail=True))
        assert (failed.due, failed.sent, failed.failed) == (1, 0, 1)
        sender = Recorder()
        clock.shift(timedelta(minutes=5))
        assert (await run(app, sender)).sent == 1
        (token,) = sender.tokens()
        assert (await customer.get(f"/master_record_review/{token}")).status_code == 200

    async def test_none_for_a_cancelled_or_missed_visit_or_when_switched_off(
        self,
        app: FastAPI,
        customer: Customer,
        clock: time_machine.Traveller,
        run_in_session: Any,
    ) -> None:
        cancelled, _ = await book(customer, 0)
        missed, _ = await book(customer, 4)
        path = f"/user/records/{cancelled['record_id']}/{cancelled['record_hash']}"
        assert (await customer.send("DELETE", path, None)).status_code == 200
        await run_in_session(
            lambda session: session.execute(
                update(Record).where(Record.id == missed["record_id"]).values(attendance=-1)
            )
        )
        _, ended = await book(customer, 8)
        await run_in_session(
            lambda session: session.execute(
                update(Location).where(Location.id == NEW_YORK).values(review_sms=False)
            )
        )
        clock.move_to(ended + timedelta(minutes=1))
        assert (await run(app, Recorder())).due == 0, "the location sends none"
        await run_in_session(
            lambda session: session.execute(
                update(Location).where(Location.id == NEW_YORK).values(review_sms=True)
            )
        )
        sender = Recorder()
        assert (await run(app, sender)).due == 1, "only the visit that took place"

    async def test_visits_older_than_a_day_are_left_alone(
        self, app: FastAPI, customer: Customer, clock: time_machine.Traveller
    ) -> None:
        _, ended = await book(customer)
        clock.move_to(ended + timedelta(hours=24, minutes=1))
        assert (await run(app, Recorder())).due == 0

    async def test_the_command(
        self,
        settings: Settings,
        customer: Customer,
        clock: time_machine.Traveller,
        outbox: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        _, ended = await book(customer)
        clock.move_to(ended + timedelta(minutes=1))
        monkeypatch.setenv("OPENBOOKING_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("OPENBOOKING_VAR_DIR", str(settings.var_dir))
        runner = CliRunner()
        refused = await asyncio.to_thread(runner.invoke, cli, ["reviews", "run"])
        assert refused.exit_code == 1
        assert "OPENBOOKING_REVIEW_URL" in str(refused.exception) + refused.output
        monkeypatch.setenv("OPENBOOKING_REVIEW_URL", LINK)
        result = await asyncio.to_thread(runner.invoke, cli, ["reviews", "run"])
        assert result.exit_code == 0, result.output
        assert "review requests: 1 due, 1 sent, 0 failed" in result.output
        text = outbox(NY_PHONE)[-1]["text"]
        match = TOKEN.search(text)
        assert match, text
        SECRETS.add(match[1])
        form = await customer.get(f"/master_record_review/{match[1]}")
        assert form.status_code == 200, "the command and the server share the secret key"
        again = await asyncio.to_thread(runner.invoke, cli, ["reviews", "run"])
        assert "review requests: 0 due, 0 sent, 0 failed" in again.output


@pytest.mark.usefixtures("demo")
class TestReviewForm:
    @pytest.mark.parametrize("dialect", [Dialect.ALTEGIO, Dialect.YCLIENTS])
    async def test_the_form_state(
        self, app: FastAPI, customer: Customer, clock: time_machine.Traveller, dialect: Dialect
    ) -> None:
        token = await visited(app, customer, clock)
        response = await customer.get(f"/master_record_review/{token}", dialect=dialect)
        assert response.status_code == 200, response.text
        body = response.json()
        data = body["data"]
        assert data["is_review_submitted"] is False
        assert data["master"]["id"] == CAMILLE
        assert data["master"]["name"] == "Camille Brooks"
        assert data["master"]["rating"] == 5
        assert data["master"]["position"] == {"id": 55, "title": "Stylist"}
        assert data["company"]["id"] == NEW_YORK
        assert data["currency"]["iso"] == "USD"
        assert data["tips"] == []
        assert data["record"]["date"].startswith("2026-12-03T")
        assert data["record"]["date"].endswith("-0500")
        if dialect is Dialect.YCLIENTS:
            schema = response_schema(
                "yclients", "/api/v1/master_record_review/{recordToken}", "get", "200"
            )
            assert isinstance(data["record"]["payed_cost"], str)
        else:
            schema = response_schema(
                "altegio", "/master_record_review/{record_token}", "get", "200"
            )
        assert_valid(body, schema)

    async def test_unknown_and_expired_links(
        self, app: FastAPI, customer: Customer, clock: time_machine.Traveller
    ) -> None:
        token = await visited(app, customer, clock)
        for wrong in ("A" * 16, token[:-1], "../../etc", "x" * 65, "%00"):
            response = await customer.get(f"/master_record_review/{wrong}")
            assert response.status_code == 404, wrong
            assert_valid(response.json(), component_schema("404_not_found_response"))
        clock.shift(timedelta(days=14, seconds=-1))
        assert (await customer.get(f"/master_record_review/{token}")).status_code == 200
        clock.shift(timedelta(seconds=1))
        assert (await customer.get(f"/master_record_review/{token}")).status_code == 404
        late = await customer.post(f"/master_record_review/{token}", {"rating": 5})
        assert late.status_code == 404

    async def test_a_partner_token_is_needed(
        self, app: FastAPI, customer: Customer, clock: time_machine.Traveller
    ) -> None:
        token = await visited(app, customer, clock)
        response = await customer.client.get(f"/api/v1/master_record_review/{token}")
        assert response.status_code == 401
        trailing = await customer.get(f"/master_record_review/{token}/")
        assert trailing.status_code == 200


@pytest.mark.usefixtures("demo")
class TestSubmitReview:
    async def test_one_review_per_visit(
        self, app: FastAPI, customer: Customer, clock: time_machine.Traveller
    ) -> None:
        token = await visited(app, customer, clock)
        body = {"rating": 4, "text": "Lovely colour.", "tips_amount": 12.5}
        first = await customer.post(f"/master_record_review/{token}", body)
        assert first.status_code == 200, first.text
        answer = first.json()
        assert answer["success"] is True
        assert answer["data"] == {"charge": None}
        assert "no payment is taken online" in answer["meta"]["message"]
        second = await customer.post(f"/master_record_review/{token}", {"rating": 1})
        assert second.status_code == 409, second.text
        error = second.json()
        assert error["success"] is False
        assert error["meta"]["errors"] == [
            {"code": 409, "message": "A review of this visit has already been submitted."}
        ]
        form = (await customer.get(f"/master_record_review/{token}")).json()["data"]
        assert form["is_review_submitted"] is True
        assert form["tips"] == [{"amount": 12.5, "currency": "USD", "is_paid": False}]

    async def test_racing_submissions_store_one(
        self, app: FastAPI, customer: Customer, clock: time_machine.Traveller
    ) -> None:
        token = await visited(app, customer, clock)
        answers = await asyncio.gather(
            *(
                customer.post(f"/master_record_review/{token}", {"rating": stars})
                for stars in (1, 2, 3, 4, 5)
            )
        )
        assert sorted(answer.status_code for answer in answers) == [200, 409, 409, 409, 409]
        staff = await self.camille(customer)
        assert staff["votes_count"] == 213

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"rating": 0},
            {"rating": 6},
            {"rating": 4.5},
            {"rating": "five"},
            {"rating": True},
            {"rating": 5, "tips_amount": -1},
            {"rating": 5, "tips_amount": "NaN"},
            {"rating": 5, "text": "x" * 2001},
            {"rating": 5, "text": "bad\u0000text"},
            [],
        ],
    )
    async def test_bad_bodies_change_nothing(
        self, app: FastAPI, customer: Customer, clock: time_machine.Traveller, body: Any
    ) -> None:
        token = await visited(app, customer, clock)
        response = await customer.post(f"/master_record_review/{token}", body)
        assert response.status_code == 422, response.text
        assert response.json()["success"] is False
        form = (await customer.get(f"/master_record_review/{token}")).json()["data"]
        assert form["is_review_submitted"] is False

    async def camille(self, customer: Customer) -> dict[str, Any]:
        staff = (await customer.get(f"/book_staff/{NEW_YORK}")).json()["data"]
        (found,) = [member for member in staff if member["id"] == CAMILLE]
        return dict(found)

    async def test_a_review_moves_the_rating_not_the_catalog_version(
        self,
        app: FastAPI,
        customer: Customer,
        clock: time_machine.Traveller,
        run_in_session: Any,
    ) -> None:
        item, ended = await book(customer)
        before = await self.camille(customer)
        assert (before["rating"], before["votes_count"], before["comments_count"]) == (4.9, 212, 0)
        clock.move_to(ended + timedelta(minutes=5))
        sender = Recorder()
        await run(app, sender)
        (token,) = sender.tokens()
        version = await catalog_version(run_in_session)
        posted = await customer.post(
            f"/master_record_review/{token}", {"rating": 1, "text": "Late and rushed."}
        )
        assert posted.status_code == 200, posted.text
        assert await catalog_version(run_in_session) == version, "the cache stays valid"
        after = await self.camille(customer)
        assert after["votes_count"] == 213
        assert after["comments_count"] == 1
        assert after["rating"] == round((4.9 * 212 + 1) / 213, 2)
        path = f"/book_record/{NEW_YORK}/{item['record_id']}/{item['record_hash']}"
        staff = (await customer.get(path)).json()["data"]["staff"]
        assert (staff["rating"], staff["votes_count"], staff["comments_count"]) == (
            after["rating"],
            213,
            1,
        )
        records = await customer.get(f"/user/records/{item['record_id']}/{item['record_hash']}")
        assert records.json()["data"][0]["staff"]["votes_count"] == 213


@pytest.mark.parametrize(
    "url", ["ftp://book.example.org/{token}", "https://book.example.org/review", "{token}"]
)
def test_the_review_url_must_carry_the_token_once(url: str) -> None:
    with pytest.raises(ValidationError, match="with \\{token\\} once"):
        Settings(review_url=url)
    assert Settings(review_url=LINK).review_url == LINK
