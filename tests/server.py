"""A real `openbooking serve --demo` process on a free loopback port, for the tests that need
real sockets (browsers, slow clients)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from tests.conftest import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@dataclass(frozen=True)
class Server:
    """A running server: its address, the demo partner token and its log file."""

    url: str
    port: int
    token: str
    log: Path
    env: dict[str, str]  # the server's environment, for `openbooking` commands on its data
    process: subprocess.Popen[bytes]


@contextmanager
def running_server(home: Path, *args: str, **settings: str) -> Iterator[Server]:
    """Serve the demo from a SQLite file in `home`; `settings` are OPENBOOKING_* values
    (`body_timeout_seconds="2"`), `args` extra arguments of `serve` (`--workers`, `2`)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OPENBOOKING")}
    env |= {
        "OPENBOOKING_DATABASE_URL": f"sqlite+aiosqlite:///{home / 'openbooking.db'}",
        "OPENBOOKING_VAR_DIR": str(home / "var"),
        **{f"OPENBOOKING_{name.upper()}": value for name, value in settings.items()},
    }
    port = free_port()
    log = home / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "openbooking", "serve", "--demo", "--port", str(port), *args],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the server exited:\n{log.read_text()}"
            try:
                if httpx.get(f"{url}/openapi.json").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"the server did not start:\n{log.read_text()}"
            time.sleep(0.2)
        token = (home / "var" / "demo-partner-token").read_text().strip()
        yield Server(url=url, port=port, token=token, log=log, env=env, process=process)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
