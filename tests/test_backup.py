"""`openbooking backup` and `restore` on a server that keeps serving."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.server import Server, running_server

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

NEW_YORK, CAMILLE = 1002, 204


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("backup")) as running:
        yield running


def openbooking(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openbooking", *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def api(server: Server, path: str, method: str = "GET", **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.token}"}
    return httpx.request(
        method, f"{server.url}/api/v1{path}", headers=headers, timeout=60, **kwargs
    )


def free_slots(server: Server) -> tuple[int, str, list[str]]:
    services = api(server, f"/book_services/{NEW_YORK}", params={"staff_id": CAMILLE})
    service = services.json()["data"]["services"][0]["id"]
    found = api(
        server, f"/book_staff_seances/{NEW_YORK}/{CAMILLE}", params={"service_ids": service}
    ).json()["data"]
    return service, found["seance_date"], [slot["datetime"] for slot in found["seances"]]


def booking(service: int, when: str, n: int) -> dict[str, Any]:
    return {
        "phone": f"+1212555{n:04d}",
        "fullname": "Mary Jackson",
        "email": "mary@example.org",
        "appointments": [{"id": 1, "services": [service], "staff_id": CAMILLE, "datetime": when}],
    }


def offered(server: Server, service: int, day: str) -> list[str]:
    answer = api(server, f"/book_times/{NEW_YORK}/{CAMILLE}/{day}", params={"service_ids": service})
    return [slot["datetime"] for slot in answer.json()["data"]]


def test_a_restore_brings_back_the_day_as_it_was(server: Server, tmp_path: Path) -> None:
    service, day, slots = free_slots(server)
    saved = tmp_path / "before.db"
    made = openbooking(server, "backup", str(saved))
    assert made.returncode == 0, made.stderr
    assert saved.stat().st_mode & 0o077 == 0, "a backup holds customers' data: owner only"
    booked = api(server, f"/book_record/{NEW_YORK}", "POST", json=booking(service, slots[0], 1))
    assert booked.status_code == 201, booked.text
    assert slots[0] not in offered(server, service, day)
    restored = openbooking(server, "restore", str(saved))
    assert restored.returncode == 0, restored.stderr
    # The running server, not restarted, sees the day as it was: the slot is free again, and
    # the booking made after the backup is gone.
    assert slots[0] in offered(server, service, day)
    item = booked.json()["data"][0]
    gone = api(server, f"/book_record/{NEW_YORK}/{item['record_id']}/{item['record_hash']}")
    assert gone.status_code == 404


def test_a_backup_taken_under_bookings_is_one_consistent_snapshot(
    server: Server, tmp_path: Path
) -> None:
    service, _, slots = free_slots(server)
    acknowledged: list[float] = []
    stop = threading.Event()

    def book_all() -> None:
        for n, when in enumerate(slots):
            if stop.is_set():
                return
            answer = api(server, f"/book_record/{NEW_YORK}", "POST", json=booking(service, when, n))
            if answer.status_code == 201:
                acknowledged.append(time.monotonic())

    writer = threading.Thread(target=book_all)
    writer.start()
    try:
        while not acknowledged:
            time.sleep(0.01)
        started = time.monotonic()
        made = openbooking(server, "backup", str(tmp_path / "busy.db"))
        finished = time.monotonic()
    finally:
        stop.set()
        writer.join()
    assert made.returncode == 0, made.stderr
    with closing(sqlite3.connect(tmp_path / "busy.db")) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (stored,) = copy.execute("SELECT count(*) FROM records").fetchone()
    before = sum(1 for moment in acknowledged if moment < started)
    by_end = sum(1 for moment in acknowledged if moment <= finished)
    assert before <= stored <= by_end + 1  # +1: one committed as the snapshot began


def test_a_backup_of_another_schema_is_refused(server: Server, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
        connection.execute("INSERT INTO alembic_version VALUES ('0001')")
        connection.commit()
    refused = openbooking(server, "restore", str(other))
    assert refused.returncode == 1
    assert refused.stderr.startswith("openbooking: error:")
    assert "revision 0001" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert api(server, "/companies").status_code == 200


def test_postgresql_points_at_pg_dump(server: Server, tmp_path: Path) -> None:
    env = {**server.env, "OPENBOOKING_DATABASE_URL": "postgresql+asyncpg://x@127.0.0.1/none"}
    answer = subprocess.run(
        [sys.executable, "-m", "openbooking", "backup", str(tmp_path / "x.db")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert answer.returncode == 1
    assert "pg_dump" in answer.stderr
