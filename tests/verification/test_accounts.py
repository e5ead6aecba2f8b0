"""Password login, the profile, tokens: T14 (shape), T17, phone change, first password."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from openbooking.kit.auth import token_digest
from openbooking.models import Customer as CustomerRow
from openbooking.models import UserToken
from openbooking.verification import service
from tests.verification.conftest import BERLIN, PHONE, START, Customer, code_in

if TYPE_CHECKING:
    import time_machine
    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.config import Settings

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
