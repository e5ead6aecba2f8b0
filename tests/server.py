"""Real `openbooking serve` processes on loopback ports, for the tests that need real sockets
(browsers, slow clients, shutdowns, a reverse proxy in front of two app hosts)."""

from __future__ import annotations

import os
import signal
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

STARTUP_SECONDS = 60


@dataclass(frozen=True)
class Server:
    """A running server: its address, the demo partner token and its log file."""

    url: str
    port: int
    token: str
    log: Path
    env: dict[str, str]  # the server's environment, for `openbooking` commands on its data
    process: subprocess.Popen[bytes]


def server_env(**settings: str) -> dict[str, str]:
    """This process's environment without its OPENBOOKING_* variables, plus `settings` as
    OPENBOOKING_* values (`database_url="..."`)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OPENBOOKING")}
    return env | {f"OPENBOOKING_{name.upper()}": value for name, value in settings.items()}


def start_serve(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`openbooking serve ARGS` in its own process group (its workers stop with it), writing
    to `log`; not yet ready (see `wait_until_ready`)."""
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "openbooking", "serve", *args],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Return once the server at `url` answers; fail if it exits or does not start in time."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        assert process.poll() is None, f"the server exited:\n{log.read_text()}"
        try:
            if httpx.get(f"{url}/openapi.json").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"the server did not start:\n{log.read_text()}"
        time.sleep(0.2)  # a polling interval, not a wait for something to happen


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, SIGKILL if it has not exited after 30 s."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@contextmanager
def running_server(home: Path, *args: str, **settings: str) -> Iterator[Server]:
    """Serve the demo from a SQLite file in `home`; `settings` are OPENBOOKING_* values
    (`body_timeout_seconds="2"`), `args` extra arguments of `serve` (`--workers`, `2`)."""
    env = server_env(
        database_url=f"sqlite+aiosqlite:///{home / 'openbooking.db'}",
        var_dir=str(home / "var"),
        **settings,
    )
    port = free_port()
    log = home / "server.log"
    process = start_serve(env, log, "--demo", "--port", str(port), *args)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(process, url, log)
        token = (home / "var" / "demo-partner-token").read_text().strip()
        yield Server(url=url, port=port, token=token, log=log, env=env, process=process)
    finally:
        stop(process)
