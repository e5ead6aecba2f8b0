"""Business users of the demo (New York 1002 and Berlin 1001), logged in through POST /auth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import time_machine

from openbooking.backoffice import accounts
from openbooking.kit.pool import BoundedPool
from openbooking.models import Customer
from openbooking.verification import passwords
from openbooking.verification import service as verification
from tests.conftest import SECRETS, remember_response, remember_secrets

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from fastapi import FastAPI

    from openbooking.config import Settings

BERLIN, NEW_YORK = 1001, 1002
CAMILLE, PRIYA, LENA = 204, 205, 201  # New York, New York, Berlin
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # Tuesday
DAY = "2026-12-03"  # Thursday: Camille works 12:00-21:00 (16:00-16:30 break), New York time
PASSWORD = "correct horse battery staple"
SECRETS.add(PASSWORD)
# Who calls, for the permission matrix: New York is "this location".
USERS: dict[str, dict[str, Any]] = {
    "owner": {"role": "owner", "chain_id": 1},
    "administrator": {"role": "administrator", "location_ids": [NEW_YORK]},
    "member": {"role": "member", "staff_id": CAMILLE},
    "other_member": {"role": "member", "staff_id": LENA},
    "other_administrator": {"role": "administrator", "location_ids": [BERLIN]},
}


class Caller:
    """An HTTP client with the partner token and, maybe, a user token."""

    def __init__(self, client: httpx.AsyncClient, partner: str, user: str | None) -> None:
        self.client, self.partner, self.user = client, partner, user

    async def call(
        self, method: str, path: str, body: Any = None, params: Any = None
    ) -> httpx.Response:
        auth = f"Bearer {self.partner}" + (f", User {self.user}" if self.user else "")
        remember_secrets(body)
        response = await self.client.request(
            method,
            f"/api/v1{path}",
            json=body,
            params=params,
            headers={"Authorization": auth, "Accept": "application/vnd.yclients.v2+json"},
        )
        remember_response(response)
        return response


@dataclass
class Business:
    http: httpx.AsyncClient
    partner: str
    tokens: dict[str, str | None]

    def as_(self, who: str) -> Caller:
        return Caller(self.http, self.partner, self.tokens[who])


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
async def http(app: FastAPI, demo: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def login(http: httpx.AsyncClient, partner: str, email: str) -> str:
    response = await http.post(
        "/api/v1/auth",
        json={"login": email, "password": PASSWORD},
        headers={"Authorization": f"Bearer {partner}"},
    )
    assert response.status_code == 201, response.text
    token = str(response.json()["data"]["user_token"])
    SECRETS.add(token)
    return token


@pytest.fixture
async def business(
    http: httpx.AsyncClient, partner_token: str, run_in_session: Any, settings: Settings, clock: Any
) -> Business:
    password_hash = await passwords.hash_password(PASSWORD, BoundedPool(1, 1))

    async def add(session: Any) -> str:
        for who, fields in USERS.items():
            await accounts.add_user(
                session,
                email=f"{who}@example.org",
                role=fields["role"],
                location_ids=fields.get("location_ids", []),
                chain_id=fields.get("chain_id"),
                staff_id=fields.get("staff_id"),
                name=who.replace("_", " ").title(),
                phone=None,
                password_hash=password_hash,
            )
        customer = Customer(phone="+12125550123", name="Grace Hopper")
        session.add(customer)
        await session.flush()
        return await verification.issue_token(session, settings, customer)

    customer_token = await run_in_session(add)
    SECRETS.add(customer_token)
    tokens: dict[str, str | None] = {
        who: await login(http, partner_token, f"{who}@example.org") for who in USERS
    }
    tokens["customer"] = customer_token
    tokens["nobody"] = None
    return Business(http, partner_token, tokens)
