"""Password login, the profile, tokens: T14 (shape), T17, phone change, first password."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from openbooking.config import Settings
from openbooking.kit.auth import token_digest
from openbooking.models import Customer as CustomerRow
from openbooking.models import UserToken
from openbooking.verification import service
from tests.bookings.helpers import CAMILLE, ny_booking, ny_service, slots
from tests.verification.conftest import BERLIN, NEW_YORK, PHONE, START, Customer, code_in

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import time_machine
    from sqlalchemy.ext.asyncio import AsyncSession

PASSWORD = "correct horse battery staple"


async def phone_login(customer: Customer, outbox: Any, phone: str = PHONE) -> str:
    sent = await customer.post(f"/book_code/{BERLIN}", {"phone": phone})
    assert sent.status_code == 201, sent.text
    code = code_in(outbox(phone)[-1])
    response = await customer.post("/user/auth", {"phone": phone, "code": code})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["user_token"])


async def with_password(customer: Customer, outbox: Any) -> str:
    token = await phone_login(customer, outbox)
    response = await customer.put("/booking/user/password", {"new_password": PASSWORD}, user=token)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["user_token"])


class Argon2Checks:
    """Counts the argon2 verifications that really run (the real hasher, wrapped), how many
    run at once, and can hold them until `release` is set."""

    def __init__(self) -> None:
        self.hashes: list[str] = []
        self.running = 0
        self.most_at_once = 0
        self.release = threading.Event()
        self.release.set()
        self._lock = threading.Lock()

    def enter(self, stored: str) -> None:
        with self._lock:
            self.hashes.append(stored)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)

    def leave(self) -> None:
        with self._lock:
            self.running -= 1


@pytest.fixture
def argon2_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Argon2Checks]:
    checks = Argon2Checks()
    original = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str, password: str | bytes) -> bool:
        checks.enter(hash)
        try:
            checks.release.wait(60)  # a safety net, never reached when the test passes
            return original(self, hash, password)
        finally:
            checks.leave()

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    yield checks
    checks.release.set()


async def wrong_passwords(customer: Customer, count: int) -> list[asyncio.Task[Any]]:
    """`count` concurrent wrong logins, each for another (unknown) login."""
    return [
        asyncio.create_task(
            customer.post(
                "/booking/auth", {"login": f"guest{n}@example.org", "password": f"guess {n}"}
            )
        )
        for n in range(count)
    ]


async def until_answered(tasks: list[asyncio.Task[Any]], count: int) -> None:
    """Wait (at most a minute, as a safety net) until `count` of `tasks` are answered."""
    for _ in range(6000):
        if sum(task.done() for task in tasks) >= count:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"only {sum(task.done() for task in tasks)} of {count} answers came")


@pytest.mark.usefixtures("clock")
class TestPasswordLogin:
    async def test_first_password_then_login_by_phone_or_email(
        self, customer: Customer, outbox: Any
    ) -> None:
        token = await with_password(customer, outbox)
        updated = await customer.put(
            "/booking/user", {"name": "Ada Lovelace", "email": "Ada@Example.org"}, user=token
        )
        assert updated.status_code == 202
        assert updated.json() == {"success": True, "data": None, "meta": {"message": "Accepted"}}
        for login in (PHONE, "ada@example.org", "0151 12345678"):
            response = await customer.post("/booking/auth", {"login": login, "password": PASSWORD})
            assert response.status_code == 201, (login, response.text)
            data = response.json()["data"]
            assert data["name"] == "Ada Lovelace"
            assert data["email"] == "ada@example.org"
            assert data["phone"] == PHONE
            assert data["user_token"] != token

    async def test_yclients_dialect_writes_phones_without_plus(
        self, customer: Customer, outbox: Any
    ) -> None:
        await with_password(customer, outbox)
        response = await customer.client.post(
            "/api/v1/booking/auth",
            json={"login": PHONE, "password": PASSWORD},
            headers={
                "Authorization": f"Bearer {customer.token}",
                "Accept": "application/vnd.yclients.v2+json",
            },
        )
        assert response.json()["data"]["phone"] == PHONE.lstrip("+")

    async def test_t14_unknown_login_answers_like_a_wrong_password(
        self, customer: Customer, outbox: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await with_password(customer, outbox)
        checks: list[str] = []
        original = PasswordHasher.verify

        def counting(self: PasswordHasher, hash: str, password: str | bytes) -> bool:
            checks.append(hash)
            return original(self, hash, password)

        monkeypatch.setattr(PasswordHasher, "verify", counting)
        wrong = await customer.post("/booking/auth", {"login": PHONE, "password": "not it at all"})
        unknown = await customer.post(
            "/booking/auth", {"login": "+4915100000004", "password": "not it at all"}
        )
        assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())
        assert wrong.status_code == 401
        assert wrong.headers.keys() == unknown.headers.keys()
        assert len(checks) == 2, "the unknown login cost one argon2 verification too"

    async def test_password_guessing_is_throttled_per_login_and_address(
        self, customer: Customer, outbox: Any, settings: Settings, clock: time_machine.Traveller
    ) -> None:
        await with_password(customer, outbox)
        answers = [
            await customer.post("/booking/auth", {"login": PHONE, "password": f"guess-{n}"})
            for n in range(settings.password_failures_per_minute + 1)
        ]
        assert [a.status_code for a in answers][-1] == 429
        assert "Retry-After" in answers[-1].headers
        clock.shift(timedelta(minutes=2))
        assert (
            await customer.post("/booking/auth", {"login": PHONE, "password": PASSWORD})
        ).status_code == 201

    async def test_t32_distinct_logins_from_one_address_share_one_argon2_budget(
        self, customer: Customer, settings: Settings, argon2_checks: Argon2Checks
    ) -> None:
        answers = await asyncio.gather(*await wrong_passwords(customer, 100))
        statuses = [answer.status_code for answer in answers]
        assert 429 in statuses, "100 different logins from one address all ran argon2"
        assert set(statuses) <= {401, 429}
        assert len(argon2_checks.hashes) <= settings.password_checks_per_ip_minute
        assert statuses.count(401) == len(argon2_checks.hashes)
        assert all(a.headers["Retry-After"] for a in answers if a.status_code == 429)
        other = await customer.post(
            "/booking/auth",
            {"login": "guest@example.org", "password": "guess"},
            headers={"X-Forwarded-For": "198.51.100.9"},  # not believed: the same address
        )
        assert other.status_code == 429

    async def test_t14_a_throttled_unknown_login_costs_no_argon2_either(
        self, customer: Customer, outbox: Any, settings: Settings, argon2_checks: Argon2Checks
    ) -> None:
        await with_password(customer, outbox)
        budget = settings.password_checks_per_ip_minute
        for n in range(budget):
            login = PHONE if n % 3 == 0 else f"guest{n}@example.org"  # PHONE stays under 5
            answer = await customer.post("/booking/auth", {"login": login, "password": "no"})
            assert answer.status_code == 401
        assert len(argon2_checks.hashes) == budget
        known = await customer.post("/booking/auth", {"login": PHONE, "password": "no"})
        unknown = await customer.post("/booking/auth", {"login": "x@example.org", "password": "no"})
        assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
        assert known.status_code == 429
        assert len(argon2_checks.hashes) == budget

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"login": PHONE},
            {"password": PASSWORD},
            {"login": PHONE, "password": 5},
            {"login": ["x"], "password": "y"},
        ],
    )
    async def test_missing_or_malformed_fields_are_422(self, customer: Customer, body: Any) -> None:
        response = await customer.post("/booking/auth", body)
        assert response.status_code == 422
        assert response.json()["success"] is False


@pytest.mark.usefixtures("clock")
class TestPasswordLoginUnderLoad:
    """T32: argon2 runs in a bounded pool; a login that would queue too long answers 429, and
    bookings go on meanwhile."""

    @pytest.fixture
    def settings(self, database_url: str, tmp_path: Path) -> Settings:
        return Settings(
            database_url=database_url,
            var_dir=tmp_path / "var",
            password_checks_per_ip_minute=1000,
            password_hash_slots=1,
            password_hash_queue=2,
        )

    async def test_t32_a_full_pool_answers_429_and_bookings_go_on(
        self, customer: Customer, argon2_checks: Argon2Checks
    ) -> None:
        service = await ny_service(customer)
        free = await slots(customer, NEW_YORK, CAMILLE, service)
        argon2_checks.release.clear()  # every argon2 check waits until the end of the test
        logins = await wrong_passwords(customer, 40)
        try:
            await until_answered(logins, 40 - 1 - 2)  # all but one running and two waiting
            booked = await customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, free[0]))
            assert booked.status_code == 201, booked.text
        finally:
            argon2_checks.release.set()
        answers = await asyncio.gather(*logins)
        statuses = [answer.status_code for answer in answers]
        assert statuses.count(429) == 40 - 1 - 2
        assert statuses.count(401) == 3
        assert all(a.headers["Retry-After"] == "1" for a in answers if a.status_code == 429)
        assert argon2_checks.most_at_once == 1
        assert len(argon2_checks.hashes) == 3


@pytest.mark.usefixtures("clock")
class TestTokens:
    async def test_t17_password_change_rotates_the_token(
        self, customer: Customer, outbox: Any
    ) -> None:
        token = await with_password(customer, outbox)
        changed = await customer.put(
            "/booking/user/password",
            {"old_password": PASSWORD, "new_password": "an even longer passphrase"},
            user=token,
        )
        assert changed.status_code == 200
        new_token = changed.json()["data"]["user_token"]
        assert (await customer.get_as("/booking/user/data", token)).status_code == 401
        assert (await customer.get_as("/booking/user/data", new_token)).status_code == 200

    async def test_wrong_old_password_changes_nothing(
        self, customer: Customer, outbox: Any
    ) -> None:
        token = await with_password(customer, outbox)
        refused = await customer.put(
            "/booking/user/password",
            {"old_password": "nope nope", "new_password": "whatever123"},
            user=token,
        )
        assert refused.status_code == 422
        assert (await customer.get_as("/booking/user/data", token)).status_code == 200

    @pytest.mark.parametrize(
        ("new_password", "why"),
        [
            ("Xk4#pq9!Lm2@zR", "at least 15 characters"),  # R13: the only factor
            ("x" * 1025, "at most 1024 bytes"),
            (None, "is required"),
            ("aaaaaaaaaaaaaaaaaaaa", "too easy to guess"),
            ("passwordpassword", "too easy to guess"),
            ("123456789012345678", "too easy to guess"),
            ("qwertyuiopasdfghjkl", "too easy to guess"),
        ],
    )
    async def test_password_rules(
        self, customer: Customer, outbox: Any, new_password: Any, why: str
    ) -> None:
        token = await phone_login(customer, outbox)
        response = await customer.put(
            "/booking/user/password", {"new_password": new_password}, user=token
        )
        assert response.status_code == 422
        (error,) = response.json()["meta"]["errors"]
        assert error["field"] == "new_password"
        assert error["message"].startswith(why)

    async def test_a_long_uncommon_passphrase_is_accepted(
        self, customer: Customer, outbox: Any
    ) -> None:
        token = await phone_login(customer, outbox)
        response = await customer.put(
            "/booking/user/password", {"new_password": "plum kettle ostrich"}, user=token
        )
        assert response.status_code == 200, response.text

    async def test_t17_only_hashes_are_stored_and_expiry_and_disable_work(
        self,
        customer: Customer,
        outbox: Any,
        run_in_session: Any,
        clock: time_machine.Traveller,
        settings: Settings,
    ) -> None:
        token = await phone_login(customer, outbox)

        async def stored(session: AsyncSession) -> list[str]:
            return list(await session.scalars(select(UserToken.token_sha256)))

        assert await run_in_session(stored) == [token_digest(token)]
        clock.shift(timedelta(days=settings.user_token_ttl_days, seconds=1))
        assert (await customer.get_as("/booking/user/data", token)).status_code == 401
        clock.shift(timedelta(days=-settings.user_token_ttl_days, seconds=-2))
        assert (await customer.get_as("/booking/user/data", token)).status_code == 200

        async def disable(session: AsyncSession) -> None:
            await session.execute(update(CustomerRow).values(disabled_at=START))

        await run_in_session(disable)
        assert (await customer.get_as("/booking/user/data", token)).status_code == 401

    @pytest.mark.parametrize(
        "header",
        ["Bearer {p}", "Bearer {p}, User nonsense", "Bearer {p}, User {u}x", "Bearer {p}, User"],
    )
    async def test_profile_needs_a_valid_user_token(
        self, customer: Customer, outbox: Any, header: str
    ) -> None:
        token = await phone_login(customer, outbox)
        response = await customer.client.get(
            "/api/v1/booking/user/data",
            headers={"Authorization": header.format(p=customer.token, u=token)},
        )
        assert response.status_code == 401
        assert response.json()["meta"]["message"] == "Authentication needed."

    async def test_token_in_the_query_string_is_ignored(
        self, customer: Customer, outbox: Any
    ) -> None:
        token = await phone_login(customer, outbox)
        response = await customer.client.get(
            "/api/v1/booking/user/data",
            params={"user_token": token},
            headers={"Authorization": f"Bearer {customer.token}"},
        )
        assert response.status_code == 401

    async def test_revoking_all_tokens_of_a_phone(
        self, customer: Customer, outbox: Any, run_in_session: Any
    ) -> None:
        token = await phone_login(customer, outbox)
        revoked = await run_in_session(lambda session: service.revoke_all(session, PHONE))
        assert revoked == 1
        assert (await customer.get_as("/booking/user/data", token)).status_code == 401

    async def test_each_token_reaches_only_its_own_account(
        self, customer: Customer, outbox: Any, clock: time_machine.Traveller
    ) -> None:
        mine = await phone_login(customer, outbox)
        clock.shift(timedelta(minutes=2))
        theirs = await phone_login(customer, outbox, "+4915188888888")
        assert (await customer.get_as("/booking/user/data", mine)).json()["data"]["phone"] == PHONE
        other = (await customer.get_as("/booking/user/data", theirs)).json()["data"]
        assert other["phone"] == "+4915188888888"
        await customer.put("/booking/user", {"name": "Mine"}, user=mine)
        assert (await customer.get_as("/booking/user/data", theirs)).json()["data"]["name"] == ""

    @pytest.mark.parametrize("name", ["\u3164", "\u115f\u1160", "\u034f", "A" + "\u0300" * 250])
    async def test_a_name_that_shows_nothing_is_refused(
        self, customer: Customer, outbox: Any, name: str
    ) -> None:
        token = await phone_login(customer, outbox)
        response = await customer.put("/booking/user", {"name": name}, user=token)
        assert response.status_code == 422, response.text
        assert response.json()["meta"]["errors"][0]["field"] == "name"
        assert (await customer.get_as("/booking/user/data", token)).json()["data"]["name"] != name

    async def test_profile_answer(self, customer: Customer, outbox: Any) -> None:
        token = await phone_login(customer, outbox)
        data = (await customer.get_as("/booking/user/data", token)).json()["data"]
        assert data["0"] == data["user_token"] == token
        assert data["login"] == PHONE


@pytest.mark.usefixtures("clock")
class TestPhoneChange:
    async def test_new_phone_needs_its_own_code(
        self, customer: Customer, outbox: Any, clock: time_machine.Traveller
    ) -> None:
        token = await phone_login(customer, outbox)
        new_phone = "+4915177777777"
        sent = await customer.get_as(
            "/booking/user/phone_confirmation",
            token,
            params={"company_id": BERLIN, "phone": new_phone},
        )
        assert sent.status_code == 202
        assert sent.json() == {"success": True, "data": None, "meta": {"message": "Accepted"}}
        code = code_in(outbox(new_phone)[-1])
        without = await customer.put("/booking/user", {"phone": new_phone}, user=token)
        assert without.status_code == 422
        bad = await customer.put(
            "/booking/user",
            {"phone": new_phone, "confirmation_code": f"{(int(code) + 1) % 10**6:06d}"},
            user=token,
        )
        assert bad.status_code == 422
        good = await customer.put(
            "/booking/user", {"phone": new_phone, "confirmation_code": code}, user=token
        )
        assert good.status_code == 202, good.text
        data = (await customer.get_as("/booking/user/data", token)).json()["data"]
        assert data["phone"] == new_phone

    async def test_a_phone_change_signs_out_the_other_sessions(
        self, customer: Customer, outbox: Any, clock: time_machine.Traveller
    ) -> None:
        here = await phone_login(customer, outbox)
        clock.shift(3600)  # past the resend interval
        elsewhere = await phone_login(customer, outbox)
        new_phone = "+4915177777777"
        clock.shift(3600)
        await customer.get_as(
            "/booking/user/phone_confirmation",
            here,
            params={"company_id": BERLIN, "phone": new_phone},
        )
        code = code_in(outbox(new_phone)[-1])
        changed = await customer.put(
            "/booking/user", {"phone": new_phone, "confirmation_code": code}, user=here
        )
        assert changed.status_code == 202, changed.text
        assert (await customer.get_as("/booking/user/data", here)).status_code == 200
        assert (await customer.get_as("/booking/user/data", elsewhere)).status_code == 401
        renamed = await customer.put("/booking/user", {"name": "Ada"}, user=here)
        assert renamed.status_code == 202
        assert (await customer.get_as("/booking/user/data", here)).status_code == 200

    async def test_t7_a_login_code_does_not_change_a_phone(
        self, customer: Customer, outbox: Any, clock: time_machine.Traveller
    ) -> None:
        token = await phone_login(customer, outbox)
        other = "+4915166666666"
        await customer.post(f"/book_code/{BERLIN}", {"phone": other})
        login_code = code_in(outbox(other)[-1])
        response = await customer.put(
            "/booking/user", {"phone": other, "confirmation_code": login_code}, user=token
        )
        assert response.status_code == 422

    async def test_a_phone_of_another_account_is_refused(
        self, customer: Customer, outbox: Any, clock: time_machine.Traveller
    ) -> None:
        other = "+4915155555555"
        await phone_login(customer, outbox, other)
        clock.shift(timedelta(minutes=5))
        token = await phone_login(customer, outbox)
        clock.shift(timedelta(minutes=5))
        await customer.get_as(
            "/booking/user/phone_confirmation", token, params={"group_id": 1, "phone": other}
        )
        code = code_in(outbox(other)[-1])
        response = await customer.put(
            "/booking/user", {"phone": other, "confirmation_code": code}, user=token
        )
        assert response.status_code == 422
        assert "already in use" in response.json()["meta"]["message"]

    async def test_company_or_group_is_required(self, customer: Customer, outbox: Any) -> None:
        token = await phone_login(customer, outbox)
        response = await customer.get_as(
            "/booking/user/phone_confirmation", token, params={"phone": "+4915144444444"}
        )
        assert response.status_code == 422
