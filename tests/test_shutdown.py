"""No acknowledged booking is lost when the server stops: gracefully (SIGTERM, as systemd and
container runtimes stop it) or not at all (kill -9)."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from contextlib import closing
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.server import Server, running_server

if TYPE_CHECKING:
    from pathlib import Path

NEW_YORK, CAMILLE = 1002, 204
CLIENTS = 6


def slots_to_book(server: Server) -> tuple[int, list[str]]:
    """A service and every free start of the member over the coming days."""
    headers = {"Authorization": f"Bearer {server.token}"}
    base = f"{server.url}/api/v1"
    services = httpx.get(
        f"{base}/book_services/{NEW_YORK}", params={"staff_id": CAMILLE}, headers=headers
    ).json()["data"]["services"]
    service = services[0]["id"]
    dates = httpx.get(
        f"{base}/book_dates/{NEW_YORK}",
        params={"staff_id": CAMILLE, "service_ids": service},
        headers=headers,
    ).json()["data"]["booking_dates"]
    starts: list[str] = []
    for day in dates[:4]:
        answer = httpx.get(
            f"{base}/book_times/{NEW_YORK}/{CAMILLE}/{day}",
            params={"service_ids": service},
            headers=headers,
        )
        starts += [slot["datetime"] for slot in answer.json()["data"]]
    return service, starts


def book_until_stopped(server: Server, stop: signal.Signals, home: Path) -> None:
    service, starts = slots_to_book(server)
    acknowledged: list[int] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        with httpx.Client(timeout=30) as http:
            for n in range(offset, len(starts), CLIENTS):
                body: dict[str, Any] = {
                    "phone": f"+1212555{n:04d}",
                    "fullname": "Dorothy Vaughan",
                    "email": "dorothy@example.org",
                    "appointments": [
                        {"id": 1, "services": [service], "staff_id": CAMILLE, "datetime": starts[n]}
                    ],
                }
                try:
                    answer = http.post(
                        f"{server.url}/api/v1/book_record/{NEW_YORK}",
                        json=body,
                        headers={"Authorization": f"Bearer {server.token}"},
                    )
                except httpx.TransportError:
                    return  # the server went away: this one was never acknowledged
                if answer.status_code == 201:
                    with lock:
                        acknowledged.append(answer.json()["data"][0]["record_id"])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    while len(acknowledged) < 10:
        time.sleep(0.01)
    server.process.send_signal(stop)
    for thread in threads:
        thread.join()
    server.process.wait(timeout=60)
    with closing(sqlite3.connect(home / "openbooking.db")) as database:
        stored = {row[0] for row in database.execute("SELECT id FROM records")}
    assert acknowledged, "nothing was booked before the stop"
    assert set(acknowledged) <= stored, sorted(set(acknowledged) - stored)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "kill -9"])
def test_no_acknowledged_booking_is_lost(tmp_path: Path, stop: signal.Signals) -> None:
    with running_server(tmp_path) as server:
        book_until_stopped(server, stop, tmp_path)
    if stop is signal.SIGTERM:
        log = server.log.read_text()
        assert "Finished server process" in log, log[-2000:]
