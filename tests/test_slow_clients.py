"""Slow, stalled and oversized clients against a real server (uvicorn, SQLite): they get 408,
431 or the door, and hold no lock and no database connection that others need."""

from __future__ import annotations

import socket
from contextlib import ExitStack, suppress
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.server import Server, running_server

if TYPE_CHECKING:
    from collections.abc import Iterator

BODY_TIMEOUT = 3  # seconds a body (or a head) may take to arrive


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("slow")
    with running_server(home, body_timeout_seconds=str(BODY_TIMEOUT)) as running:
        yield running


def stalled(server: Server, method: str, path: str) -> socket.socket:
    """A client that sends its headers and the first byte of a 1,000-byte body, then nothing."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {server.token}\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    sock.sendall(head.encode() + b"{")
    return sock


def answer_of(sock: socket.socket) -> bytes:
    sock.settimeout(BODY_TIMEOUT * 5)
    received = b""
    with suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def api(server: Server, path: str, method: str = "GET", **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.token}"}
    url = f"{server.url}/api/v1{path}"
    return httpx.request(method, url, headers=headers, timeout=60, **kwargs)


def free_booking(server: Server, phone: str) -> dict[str, Any]:
    services = api(server, "/book_services/1002", params={"staff_id": 204}).json()["data"]
    service = services["services"][0]["id"]
    seances = api(server, "/book_staff_seances/1002/204", params={"service_ids": service}).json()[
        "data"
    ]["seances"]
    when = seances[0]["datetime"]
    return {
        "phone": phone,
        "fullname": "Katherine Johnson",
        "email": "katherine@example.org",
        "appointments": [{"id": 1, "services": [service], "staff_id": 204, "datetime": when}],
    }


def test_a_stalled_body_blocks_no_booking(server: Server) -> None:
    """A stalled body of a writing endpoint held SQLite's write lock, and every booking
    answered 503 for as long as the socket stayed open."""
    with ExitStack() as stack:
        for method, path in (
            ("POST", "/api/v1/user/auth"),
            ("POST", "/api/v1/book_code/1001"),
            ("PUT", "/api/v1/booking/user"),
        ):
            sock = stalled(server, method, path)
            stack.callback(sock.close)
        body = free_booking(server, "+12125550177")
        booked = api(server, "/book_record/1002", "POST", json=body)
        assert booked.status_code == 201, booked.text
        # and the stalled client is answered 408 once its time is up
        assert answer_of(sock).startswith(b"HTTP/1.1 408")


def test_stalled_bodies_exhaust_no_connection_pool(server: Server) -> None:
    """16 stalled bodies each held a database connection (the partner check's): every other
    request waited 30 s for the pool, then answered 500."""
    with ExitStack() as stack:
        for _ in range(24):
            stack.callback(stalled(server, "POST", "/api/v1/book_check/1002").close)
        listed = api(server, "/companies")
        assert listed.status_code == 200, listed.text
        checked = api(server, "/book_check/1002", "POST", json=free_booking(server, "+12125550178"))
        assert checked.status_code == 201, checked.text


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Padding": "a" * (1024 * 1024)},  # one header of 1 MB
        {f"X-Header-{n}": "x" for n in range(300)},  # too many headers
    ],
    ids=["1 MB", "300 headers"],
)
def test_oversized_heads_are_431(server: Server, headers: dict[str, str]) -> None:
    """A 1 MB header was served, and 64 MiB ones were held in memory."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        with suppress(BrokenPipeError, ConnectionResetError):  # refused while still sending
            sock.sendall(f"GET /api/v1/companies HTTP/1.1\r\nHost: x\r\n{lines}\r\n".encode())
        assert answer_of(sock).startswith(b"HTTP/1.1 431")
    assert api(server, "/companies").status_code == 200


def test_a_trickled_head_is_408(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /api/v1/companies HTTP/1.1\r\nHost: x\r\n")  # and never the end
        assert answer_of(sock).startswith(b"HTTP/1.1 408")


def test_zz_the_server_logged_no_error(server: Server) -> None:
    """Last in this module: none of the above left a traceback or a 500 in the server's log."""
    log = server.log.read_text()
    assert "Traceback" not in log, log[-3000:]
    assert " 500 " not in log, log[-3000:]
