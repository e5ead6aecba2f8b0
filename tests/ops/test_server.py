"""Against a real `openbooking serve`: metrics added up over two worker processes and written
when a worker stops, and JSON log lines, with request ids and no secrets, through a code login
and a booking."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from openbooking.kit.metrics import FLUSH_SECONDS
from openbooking.sms.outbox import read_outbox
from tests.ops.metrics import value
from tests.server import Server, running_server, stop

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

BERLIN, NEW_YORK, CAMILLE = 1001, 1002, 204
GERMAN_MOBILE = "+4915112345670"


def healthz_count_per_process(metrics_dir: Path) -> dict[str, float]:
    """/healthz requests counted by each worker, read from its own value file."""
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        metrics = MultiProcessCollector.merge([str(path)], accumulate=False)  # type: ignore[no-untyped-call]
        counts[path.stem] = sum(
            sample.value
            for metric in metrics
            for sample in metric.samples
            if sample.name == "openbooking_http_requests_total"
            and sample.labels.get("route") == "/healthz"
        )
    return counts


def access_logged(server: Server, request_ids: set[str]) -> list[str]:
    """The server's log lines once each of `request_ids` is on an access line (or after 30 s:
    the caller's assertions then say what is missing)."""
    deadline = time.monotonic() + 30
    while True:
        lines = server.log.read_text().splitlines()
        access = [line for line in lines if "openbooking.access" in line]
        if time.monotonic() > deadline or all(
            any(rid in line for line in access) for rid in request_ids
        ):
            return lines
        time.sleep(0.05)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    home = tmp_path_factory.mktemp("workers")
    stale = home / "var" / "metrics" / "counter_1.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left over by an earlier run")
    with running_server(home, "--workers", "2") as running:
        yield running, home / "var" / "metrics"


@pytest.fixture(scope="module")
def json_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("jsonlogs")
    with running_server(home, log_format="json") as running:
        yield running


class TestTwoWorkers:
    def test_counts_add_up_across_workers(self, two_workers: tuple[Server, Path]) -> None:
        running, metrics_dir = two_workers
        assert not (metrics_dir / "counter_1.db").exists(), "serve empties the directory"
        sent = 0

        def ping(_: int) -> int:
            # A new connection each time: the kernel hands it to either worker.
            return httpx.get(f"{running.url}/healthz", timeout=30).status_code

        # Each worker writes its counts within FLUSH_SECONDS of a request (kit/metrics.py).
        with ThreadPoolExecutor(max_workers=16) as pool:
            for _ in range(50):  # until both workers have answered some (bounded)
                assert set(pool.map(ping, range(32))) == {200}
                sent += 32
                time.sleep(FLUSH_SECONDS)
                served = healthz_count_per_process(metrics_dir)
                if sum(1 for count in served.values() if count > 0) >= 2:
                    break
        deadline = time.monotonic() + 10 * FLUSH_SECONDS
        served = healthz_count_per_process(metrics_dir)
        while sum(served.values()) < sent and time.monotonic() < deadline:
            time.sleep(0.05)  # the last counts are written within FLUSH_SECONDS
            served = healthz_count_per_process(metrics_dir)
        assert sum(1 for count in served.values() if count > 0) == 2, served
        assert sum(served.values()) == sent, served
        for _ in range(6):  # whichever worker answers the scrape sees every worker's counts
            text = httpx.get(f"{running.url}/metrics", timeout=30).text
            labels = {"method": "GET", "route": "/healthz", "status": "200"}
            assert value(text, "openbooking_http_requests_total", **labels) == sent
            count = value(
                text,
                "openbooking_http_request_duration_seconds_count",
                method="GET",
                route="/healthz",
            )
            assert count == sent

    def test_readyz(self, two_workers: tuple[Server, Path]) -> None:
        running, _ = two_workers
        response = httpx.get(f"{running.url}/readyz", timeout=30)
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "checks": {"database": "ok", "schema": "ok"}}


def test_what_a_worker_counted_last_is_written_when_it_stops(tmp_path: Path) -> None:
    # A worker writes its counts FLUSH_SECONDS after the first one; stopped sooner, it writes
    # them on its way out, or the requests of its last second would be missing from the files.
    with running_server(tmp_path) as running:
        for _ in range(5):
            assert httpx.get(f"{running.url}/healthz", timeout=30).status_code == 200
        stop(running.process)
    assert sum(healthz_count_per_process(tmp_path / "var" / "metrics").values()) == 5


class TestJsonLogs:
    def api(self, server: Server, method: str, path: str, **kwargs: Any) -> httpx.Response:
        auth = f"Bearer {server.token}"
        if user := kwargs.pop("user", None):
            auth += f", User {user}"
        return httpx.request(
            method,
            f"{server.url}/api/v1{path}",
            headers={"Authorization": auth, **kwargs.pop("headers", {})},
            timeout=60,
            **kwargs,
        )

    def test_a_code_login_and_a_booking_log_json_without_secrets(self, json_server: Server) -> None:
        server = json_server
        secrets = {server.token}
        request_ids = set()
        sent = self.api(server, "POST", f"/book_code/{BERLIN}", json={"phone": GERMAN_MOBILE})
        assert sent.status_code == 201, sent.text
        request_ids.add(sent.headers["x-request-id"])
        outbox = server.log.parent / "var" / "sms-outbox.jsonl"
        code = str(read_outbox(outbox, GERMAN_MOBILE)[-1]["text"]).split()[0]
        secrets.add(code)
        login = self.api(
            server,
            "POST",
            "/user/auth",
            json={"phone": GERMAN_MOBILE, "code": code},
            headers={"X-Request-ID": "login-1"},
        )
        assert login.status_code == 201, login.text
        assert login.headers["x-request-id"] == "login-1"
        user = login.json()["data"]["user_token"]
        secrets.add(user)
        password = "correct horse battery staple 1918"
        secrets.add(password)
        changed = self.api(
            server, "PUT", "/booking/user/password", json={"new_password": password}, user=user
        )
        assert changed.status_code == 200, changed.text
        secrets.add(changed.json()["data"]["user_token"])

        services = self.api(
            server, "GET", f"/book_services/{NEW_YORK}", params={"staff_id": CAMILLE}
        )
        service = services.json()["data"]["services"][0]["id"]
        seances = self.api(
            server,
            "GET",
            f"/book_staff_seances/{NEW_YORK}/{CAMILLE}",
            params={"service_ids": service},
        ).json()["data"]["seances"]
        body = {
            "phone": "+12125550177",
            "fullname": "Dorothy Vaughan",
            "email": "dorothy@example.org",
            "appointments": [
                {
                    "id": 1,
                    "services": [service],
                    "staff_id": CAMILLE,
                    "datetime": seances[0]["datetime"],
                }
            ],
        }
        booked = self.api(server, "POST", f"/book_record/{NEW_YORK}", json=body)
        assert booked.status_code == 201, booked.text
        request_ids.add(booked.headers["x-request-id"])
        (item,) = booked.json()["data"]
        secrets.add(item["record_hash"])
        read = self.api(
            server, "GET", f"/book_record/{NEW_YORK}/{item['record_id']}/{item['record_hash']}"
        )
        assert read.status_code == 200
        request_ids.add(read.headers["x-request-id"])

        # A line the server logged during the booking, and the access lines of every request.
        # A request's access line is written once it has finished, which may be after its
        # answer was sent (a PostgreSQL connection goes back to its pool first): wait for them.
        lines = access_logged(server, request_ids | {"login-1"})
        # `serve` prints its banner (the demo token, the address) before the server starts;
        # from the first log line on, every line is one JSON object.
        first = next(i for i, line in enumerate(lines) if line.startswith("{"))
        assert lines[first - 1].startswith("OpenBooking API on"), lines[:first]
        logged = [json.loads(line) for line in lines[first:]]
        assert {o["logger"] for o in logged} >= {
            "uvicorn.error",
            "openbooking.access",
            "openbooking.bookings",
        }
        for line in logged:
            assert {"time", "level", "logger", "message"} <= set(line)
        by_id = {o.get("request_id") for o in logged if o["logger"] == "openbooking.access"}
        assert request_ids | {"login-1"} <= by_id
        (booking,) = [o for o in logged if str(o["message"]).startswith("booked record")]
        assert booking["request_id"] == booked.headers["x-request-id"]
        json_text = "\n".join(lines[first:])
        assert [s for s in secrets if s in json_text] == []
        assert "Demo partner token" not in json_text
