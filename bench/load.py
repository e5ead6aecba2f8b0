"""HTTP load on loopback: a real `openbooking serve` process and a closed-loop load generator.

The generator is `wrk` when it is installed (one thread; C, so it leaves the server the CPU) and
otherwise an asyncio + httpx client in this process, which on a small machine may saturate a
core before the server does: each result carries both processes' CPU use so that can be seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

STARTUP_SECONDS = 120.0  # a busy 2-core machine starts two workers slowly


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank `q`th percentile (0 < q <= 100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int  # non-200 answers and socket errors
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    server_cpu: float | None  # CPU seconds per wall second (1.0 = one core busy)
    server_cpu_ms_per_request: float | None
    client_cpu: float | None
    clock_step_s: float  # see `clock_step`; 0.0 when the figures are sound

    @property
    def clock_stepped(self) -> bool:
        return self.clock_step_s != 0.0


@dataclass(frozen=True)
class _Measured:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    client_cpu_seconds: float
    clock_step_s: float = 0.0


CLOCK_SLACK_SECONDS = 0.5


def clock_step(reported: float, elapsed: float, duration: float) -> float:
    """How far the machine's wall clock stepped while wrk ran, or 0.0.

    wrk times its run and every latency with the wall clock (`gettimeofday`), then fills in the
    answers a stall kept from being sent (its coordinated-omission correction). A virtual
    machine that is paused and resumed, or a clock set by hand, moves that clock without any
    time passing for the programs: the run then looks long, its rate low and its p99 as long as
    the step. `reported` is wrk's run time, `elapsed` the same run timed from outside with the
    monotonic clock, `duration` what wrk was asked for (its main thread sleeps that long, which a
    step of the clock does not change). A run cannot take longer than `elapsed` nor end before
    `duration`: outside those bounds the difference is the clock's step."""
    if reported > elapsed + CLOCK_SLACK_SECONDS:
        return round(reported - elapsed, 2)
    if reported < duration - CLOCK_SLACK_SECONDS:
        return round(reported - duration, 2)
    return 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (all its threads), from /proc; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the ")" that ends the command name, utime and stime are the 12th and 13th fields.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """The live child processes of `pid` (uvicorn's workers when there are several)."""
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except OSError:
        return []


class Server:
    """`python -m openbooking serve` on a free loopback port, for a `with` block.

    Its runtime files (secret key, SMS outbox) go to a `var` folder next to `log_path`.
    """

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *,
        workers: int = 1,
        app: str | None = None,
    ) -> None:
        """`app`: instead of OpenBooking, serve this ASGI app ("module:attribute") with plain
        uvicorn and the same protocol options (a bare app to compare with)."""
        self.port = _free_port()
        self._app = app
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self._database_url = database_url
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def cpu_seconds(self) -> float | None:
        """CPU time of the server and its worker processes so far."""
        own = _process_cpu_seconds(self.pid)
        if own is None:
            return None
        return own + sum(_process_cpu_seconds(child) or 0.0 for child in _children(self.pid))

    def __enter__(self) -> Server:
        env = {
            **os.environ,
            "OPENBOOKING_DATABASE_URL": self._database_url,
            "OPENBOOKING_VAR_DIR": str(self._log_path.parent / "var"),
            # No access log: one line per request would be a large part of a cheap request.
            "OPENBOOKING_LOG_LEVEL": "warning",
        }
        command = [sys.executable, "-m", "openbooking", "serve", "--port", str(self.port)]
        if self._app is not None:
            command = [sys.executable, "-m", "uvicorn", self._app, "--port", str(self.port)]
            command += ["--http", "httptools", "--loop", "uvloop", "--no-access-log"]
            command += ["--log-level", "warning"]
        command += ["--workers", str(self.workers)]
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_up()
        return self

    def _wait_until_up(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            with contextlib.suppress(httpx.TransportError):
                httpx.get(f"{self.base_url}/docs", timeout=1.0)
                return
            time.sleep(0.1)
        self.__exit__()
        log = self._log_path.read_text(errors="replace")
        raise RuntimeError(f"openbooking serve did not start:\n{log}")

    def __exit__(self, *_exc: object) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


def client_name() -> str:
    return "wrk" if shutil.which("wrk") else "httpx"


def drive(
    server: Server,
    url: str,
    headers: dict[str, str],
    connections: int,
    seconds: float,
    *,
    script: Path | None = None,
) -> LoadResult:
    """Keep `connections` requests in flight for `seconds`; throughput and latency. `script`:
    a wrk Lua script that makes the requests (wrk only)."""
    cpu_before = server.cpu_seconds()
    if script is not None or client_name() == "wrk":
        measured = _wrk(url, headers, connections, seconds, script)
    else:
        measured = asyncio.run(_httpx(url, headers, connections, seconds))
    cpu_after = server.cpu_seconds()
    server_cpu = per_request = None
    if cpu_before is not None and cpu_after is not None and measured.requests:
        server_cpu = round((cpu_after - cpu_before) / measured.seconds, 2)
        per_request = round((cpu_after - cpu_before) / measured.requests * 1e3, 2)
    return LoadResult(
        requests=measured.requests,
        errors=measured.errors,
        seconds=round(measured.seconds, 2),
        rps=round(measured.requests / measured.seconds, 1) if measured.seconds else 0.0,
        p50_ms=round(measured.p50_ms, 2),
        p99_ms=round(measured.p99_ms, 2),
        server_cpu=server_cpu,
        server_cpu_ms_per_request=per_request,
        client_cpu=round(measured.client_cpu_seconds / measured.seconds, 2),
        clock_step_s=measured.clock_step_s,
    )


# ------------------------------------------------------------------------------------ wrk


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_WRAPPED_SECONDS = 2**64 / 1e6  # wrk counts its run time in an unsigned 64-bit number of µs


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match[1]) * _WRK_UNITS[match[2]]


def run_seconds(text: str) -> float:
    """wrk's run time ("8.01s"), below zero when the wall clock went back by more than the run
    took (wrk counts it in an unsigned number of µs, which then wraps around)."""
    seconds = _wrk_ms(text) / 1e3
    return seconds - _WRAPPED_SECONDS if seconds >= _WRAPPED_SECONDS / 2 else seconds


def _wrk(
    url: str, headers: dict[str, str], connections: int, seconds: float, script: Path | None
) -> _Measured:
    duration = max(1, round(seconds))
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    command += ["--timeout", "30s"]  # slow answers are latencies to measure, not socket errors
    if script is not None:
        command += ["-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)\s*$", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)\s*$", output, re.MULTILINE)
    if done is not None and int(done[1]) == 0:  # nothing answered in time: no latencies
        p50 = p99 = re.search(r"(\S+)", "0us")
    if done is None or p50 is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    socket_errors = re.search(r"Socket errors: (.*)$", output, re.MULTILINE)
    errors = sum(int(n) for n in re.findall(r"\d+", socket_errors[1])) if socket_errors else 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors += int(non_2xx[1]) if non_2xx else 0
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    reported = run_seconds(done[2] + done[3])
    return _Measured(
        requests=int(done[1]),
        errors=errors,
        seconds=reported,
        p50_ms=_wrk_ms(p50[1]),
        p99_ms=_wrk_ms(p99[1]),
        client_cpu_seconds=cpu,
        clock_step_s=clock_step(reported, elapsed, duration),
    )


# ---------------------------------------------------------------------------------- httpx


@contextlib.asynccontextmanager
async def clients(headers: dict[str, str], count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One client per connection (one shared httpx pool slows down with many waiters), all made
    before any clock starts: each loads TLS certificates, which takes milliseconds."""
    limits = httpx.Limits(max_connections=1)
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(headers=headers, limits=limits, timeout=60.0)
            )
            for _ in range(count)
        ]


async def _httpx(url: str, headers: dict[str, str], connections: int, seconds: float) -> _Measured:
    latencies: list[float] = []
    errors = 0
    in_time = 0  # answers received before the deadline, as wrk counts them

    async def worker(client: httpx.AsyncClient, deadline: float) -> None:
        nonlocal errors, in_time
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                response = await client.get(url)
            except httpx.TransportError:
                errors += 1
                continue
            finished = time.perf_counter()
            latencies.append(finished - started)
            in_time += finished <= deadline
            if response.status_code != 200:
                errors += 1

    async with clients(headers, connections) as connected:
        cpu = time.process_time()
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(worker(client, deadline) for client in connected))
        cpu = time.process_time() - cpu
    if not latencies:
        raise RuntimeError(f"no request to {url} succeeded")
    return _Measured(
        requests=in_time,
        errors=errors,
        seconds=seconds,
        p50_ms=percentile(latencies, 50) * 1e3,
        p99_ms=percentile(latencies, 99) * 1e3,
        client_cpu_seconds=cpu,
    )


def wait_ready(url: str, headers: dict[str, str]) -> None:
    """One request that must succeed before anything is timed."""
    response = httpx.get(url, headers=headers, timeout=30.0)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text[:300]}")
