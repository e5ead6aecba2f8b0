"""What the notice tests share: a booking at the demo's New York studio, a real HTTP receiver
for webhooks, and a delivery run like `openbooking notifications run`'s."""

from __future__ import annotations

import json
import socket
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import time_machine
from sqlalchemy import update

from openbooking.kit.db import create_engine, create_sessionmaker
from openbooking.models import Location, Staff
from openbooking.notifications import worker
from openbooking.notifications.senders import MailSender, OutboxMailer, read_outbox
from tests.bookings.helpers import NOW, ny_booking, ny_service, slots
from tests.verification.conftest import NEW_YORK, customer, outbox

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from fastapi import FastAPI

    from openbooking.config import Settings
    from tests.verification.conftest import Customer

__all__ = ["customer", "outbox"]
CAMILLE = 204


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """Tuesday morning, two days before the test day."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


async def book(customer: Customer, index: int = 0, **extra: Any) -> tuple[dict[str, Any], str]:
    """Book Camille's `index`-th free slot on the test day; the answer item and the time."""
    service = await ny_service(customer)
    when = (await slots(customer, NEW_YORK, CAMILLE, service))[index]
    response = await customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, when, **extra))
    assert response.status_code == 201, response.text
    return response.json()["data"][0], when


async def set_location(run_in_session: Any, **values: Any) -> None:
    await run_in_session(
        lambda session: session.execute(
            update(Location).where(Location.id == NEW_YORK).values(**values)
        )
    )


async def set_staff_email(run_in_session: Any, email: str) -> None:
    await run_in_session(
        lambda session: session.execute(
            update(Staff).where(Staff.id == CAMILLE).values(email=email)
        )
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1:`port` that records every POST and answers `status`."""

    port: int = field(default_factory=free_port)
    status: int = 204
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 30) -> bool:
        """Block (in a thread) until `count` calls have arrived; False after `timeout`."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.received) >= count, timeout)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.arrived:
                    receiver.received.append(Received(dict(self.headers.items()), body))
                    receiver.arrived.notify_all()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver that is up."""
    found = Receiver()
    found.start()
    yield found
    found.stop()


@pytest.fixture
def down_receiver() -> Iterator[Receiver]:
    """A receiver that is not listening yet (`start()` brings it up)."""
    found = Receiver()
    yield found
    found.stop()


@asynccontextmanager
async def sender_process(
    app: FastAPI, settings: Settings, mailer: MailSender | None = None
) -> AsyncIterator[tuple[Any, worker.Delivery]]:
    """What one `openbooking notifications run` process has: its own engine and HTTP client."""
    engine = create_engine(settings.database_url)
    try:
        async with httpx.AsyncClient() as client:
            delivery = worker.Delivery(
                mailer or OutboxMailer(settings.email_outbox_path()),
                client,
                app.state.secret_key,
                settings.email_from,
            )
            yield create_sessionmaker(engine), delivery
    finally:
        await engine.dispose()


async def deliver(
    app: FastAPI, settings: Settings, mailer: MailSender | None = None
) -> worker.DeliveryRun:
    async with sender_process(app, settings, mailer) as (sessions, delivery):
        return await worker.deliver_due(sessions, delivery)


@dataclass
class Site:
    """The server under test: its app, settings and a committed-transaction runner."""

    app: FastAPI
    settings: Settings
    run: Any

    @property
    def key(self) -> bytes:
        key: bytes = self.app.state.secret_key
        return key

    async def deliver(self, mailer: MailSender | None = None) -> worker.DeliveryRun:
        """One round of a fresh `notifications run` process."""
        return await deliver(self.app, self.settings, mailer)


@pytest.fixture
def site(app: FastAPI, settings: Settings, run_in_session: Any) -> Site:
    return Site(app, settings, run_in_session)


@pytest.fixture
def mails(settings: Settings) -> Any:
    def read(to: str | None = None) -> list[dict[str, Any]]:
        found = read_outbox(settings.email_outbox_path())
        return [mail for mail in found if to is None or mail["to"] == to]

    return read
