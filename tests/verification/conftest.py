from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import time_machine

from openbooking.sms.outbox import read_outbox
from tests.conftest import SECRETS, Api, remember_response, remember_secrets

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from fastapi import FastAPI

    from openbooking.config import Settings

BERLIN, NEW_YORK = 1001, 1002
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # a Tuesday morning in Berlin
PHONE = "+4915112345678"  # a German mobile number


class Customer(Api):
    """A widget client at one socket address."""

    async def post(
        self,
        path: str,
        body: Any,
        *,
        user: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> httpx.Response:
        return await self.send("POST", path, body, user=user, headers=headers)

    async def put(self, path: str, body: Any, *, user: str | None = None) -> httpx.Response:
        return await self.send("PUT", path, body, user=user)

    async def send(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        user: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> httpx.Response:
        auth = f"Bearer {self.token}" + (f", User {user}" if user else "")
        remember_secrets(body)
        response = await self.client.request(
            method, f"/api/v1{path}", json=body, headers={"Authorization": auth, **(headers or {})}
        )
        remember_response(response)
        return response

    async def get_as(self, path: str, user: str, params: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}, User {user}"}
        response = await self.client.get(f"/api/v1{path}", params=params, headers=headers)
        remember_response(response)
        return response


@pytest.fixture
async def customer(app: FastAPI, partner_token: str, demo: None) -> AsyncIterator[Customer]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Customer(http, partner_token)


STRANGER_ADDRESS = "198.51.100.66"


@pytest.fixture
async def stranger(app: FastAPI, partner_token: str, demo: None) -> AsyncIterator[Customer]:
    """Someone else, at another address, who knows the customer's phone."""
    transport = httpx.ASGITransport(app=app, client=(STRANGER_ADDRESS, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Customer(http, partner_token)


@pytest.fixture
def outbox(settings: Settings) -> Any:
    def messages(phone: str | None = None) -> list[dict[str, Any]]:
        return read_outbox(settings.outbox_path(), phone)

    return messages


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def code_in(message: dict[str, Any]) -> str:
    code = str(message["text"]).split()[0]
    SECRETS.add(code)
    return code
