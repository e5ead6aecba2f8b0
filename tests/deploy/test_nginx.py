"""docs/deploy.md's setup, run for real: Debian's nginx with the committed
deploy/nginx/openbooking.conf terminates TLS in front of two `openbooking serve` hosts
(127.0.0.2 and 127.0.0.3) that share PostgreSQL, Redis, the secret key and the SMS outbox.

The test changes nothing in the nginx file but the upstream and listen addresses
(`site_config`). The app hosts run the command line of deploy/systemd/openbooking.service with
the settings of deploy/openbooking.env, where only machine addresses, secrets, the directory and
the SMS provider are replaced (`host_env`). Clients come from their own loopback addresses
(127.0.0.5, 127.0.0.6...), so the app hosts see them only through X-Forwarded-For.

nginx is required with OPENBOOKING_REQUIRE_NGINX=1 (CI); without it these tests skip.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import re
import secrets
import shlex
import signal
import socket
import ssl
import subprocess
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from openbooking.business import service as business
from openbooking.config import Settings
from openbooking.kit.db import create_engine, create_sessionmaker
from openbooking.kit.ratelimit import RateLimiter
from openbooking.models import Record
from openbooking.models.records import RECORD_ACTIVE
from openbooking.partners import service as partners
from openbooking.sms.outbox import read_outbox
from tests.conftest import SECRETS, _truncate_postgres
from tests.server import server_env, start_serve, stop, wait_until_ready

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from sqlalchemy.ext.asyncio import AsyncSession

DEPLOY = Path(__file__).parents[2] / "deploy"
CONFIG = DEPLOY / "nginx" / "openbooking.conf"
ENV_FILE = DEPLOY / "openbooking.env"
UNIT = DEPLOY / "systemd" / "openbooking.service"
NGINX = Path(os.environ.get("OPENBOOKING_NGINX", "/usr/sbin/nginx"))
REQUIRE_NGINX = os.environ.get("OPENBOOKING_REQUIRE_NGINX") == "1"
REDIS_URL = os.environ.get("OPENBOOKING_TEST_REDIS_URL", "")
REQUIRE_REDIS = os.environ.get("OPENBOOKING_REQUIRE_REDIS") == "1"

PROXY = "127.0.0.1"  # nginx listens here and connects to the app hosts from here
APP_HOSTS = ("127.0.0.2", "127.0.0.3")
BERLIN, NEW_YORK, CAMILLE = 1001, 1002, 204
DEFAULTS = Settings.model_construct()  # the defaults, whatever this process's environment


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


# --- the pieces: certificate, nginx, database, app hosts ---------------------------------------


def write_certificate(directory: Path) -> Path:
    """A throwaway self-signed certificate for 127.0.0.1 where the nginx file expects it
    (tls/openbooking.crt and .key, relative to nginx's configuration directory)."""
    directory.mkdir()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "booking.example.org")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("booking.example.org"), x509.IPAddress(ipaddress.ip_address(PROXY))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (directory / "openbooking.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path = directory / "openbooking.crt"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def site_config(app_ports: tuple[int, int], https_port: int, http_port: int) -> str:
    """The committed nginx file with loopback addresses in place of the example ones; each
    replaced text must occur exactly once, so the test cannot drift from the file."""
    text = CONFIG.read_text()
    substituted = {
        "server 10.0.0.2:8000 ": f"server {APP_HOSTS[0]}:{app_ports[0]} ",
        "server 10.0.0.3:8000 ": f"server {APP_HOSTS[1]}:{app_ports[1]} ",
        "listen 443 ssl;": f"listen {PROXY}:{https_port} ssl;",
        "listen 80;": f"listen {PROXY}:{http_port};",
    }
    for old, new in substituted.items():
        assert text.count(old) == 1, f"{CONFIG} should contain {old!r} once"
        text = text.replace(old, new)
    return text


def main_config(prefix: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf gives the site file, with every path in `prefix`."""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / 'temp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""  # Debian's file says www-data
    return (
        f"{user}worker_processes 1;\n"
        "events { worker_connections 512; }\n"
        "http {\n"
        f"    access_log {prefix / 'access.log'};\n"
        f"{temp}\n"
        "    include openbooking.conf;\n"
        "}\n"
    )


@dataclass
class Nginx:
    url: str
    http_url: str
    ca: Path
    error_log: Path
    process: subprocess.Popen[bytes]

    def client(self, source: str | None = None) -> httpx.Client:
        """A client of the proxy over TLS (trusting the test's certificate), connecting from
        the loopback address `source`."""
        transport = httpx.HTTPTransport(verify=self.context(), local_address=source)
        return httpx.Client(base_url=self.url, transport=transport, timeout=60)

    def async_client(self, source: str | None = None) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(verify=self.context(), local_address=source)
        return httpx.AsyncClient(base_url=self.url, transport=transport, timeout=60)

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


def require_nginx() -> None:
    if not NGINX.exists():
        message = f"nginx not installed at {NGINX} (apt-get install nginx)"
        if REQUIRE_NGINX:
            pytest.fail(f"OPENBOOKING_REQUIRE_NGINX=1 but {message}")
        pytest.skip(message)


def start_nginx(prefix: Path, app_ports: tuple[int, int], stack: ExitStack) -> Nginx:
    prefix.mkdir()
    (prefix / "temp").mkdir()
    ca = write_certificate(prefix / "tls")
    https_port, http_port = free_port(PROXY), free_port(PROXY)
    (prefix / "openbooking.conf").write_text(site_config(app_ports, https_port, http_port))
    (prefix / "nginx.conf").write_text(main_config(prefix))
    error_log = prefix / "error.log"
    command = [str(NGINX), "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf")]
    command += ["-e", str(error_log)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [*command, "-g", f"daemon off; pid {prefix / 'nginx.pid'};"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    stack.callback(stop, process)  # SIGTERM: nginx's fast shutdown
    nginx = Nginx(
        url=f"https://{PROXY}:{https_port}",
        http_url=f"http://{PROXY}:{http_port}",
        ca=ca,
        error_log=error_log,
        process=process,
    )
    deadline = time.monotonic() + 30
    with nginx.client() as http:
        while True:
            assert process.poll() is None, f"nginx exited:\n{error_log.read_text()}"
            try:
                if http.get("/openapi.json").status_code == 200:
                    return nginx
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"nginx did not start:\n{error_log.read_text()}"
            time.sleep(0.1)  # a polling interval


@dataclass
class AppHost:
    url: str
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def client(self, source: str | None = None) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=source)
        return httpx.Client(base_url=self.url, transport=transport, timeout=60)


@dataclass
class Cluster:
    nginx: Nginx
    hosts: tuple[AppHost, AppHost]
    database_url: str
    token: str
    outbox: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def run(self, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        """`work(session)` in one committed transaction on the shared database."""

        async def go() -> Any:
            engine = create_engine(self.database_url)
            try:
                async with create_sessionmaker(engine)() as session, session.begin():
                    return await work(session)
            finally:
                await engine.dispose()

        return asyncio.run(go())


def redis_url() -> str:
    if not REDIS_URL:
        if REQUIRE_REDIS:
            pytest.fail("OPENBOOKING_REQUIRE_REDIS=1 but OPENBOOKING_TEST_REDIS_URL is unset")
        pytest.skip("Redis not configured (set OPENBOOKING_TEST_REDIS_URL)")
    return REDIS_URL


def prepare_shared_state(database_url: str, redis: str) -> str:
    """An empty migrated database with the demo business and a partner token (returned), and
    no rate counters in Redis."""

    async def prepare() -> str:
        await _truncate_postgres(database_url)
        limiter = RateLimiter(redis)
        await limiter.reset()
        await limiter.aclose()
        engine = create_engine(database_url)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                await business.load_demo_once(session)
                return await partners.create(session, "nginx-tests")
        finally:
            await engine.dispose()

    token = asyncio.run(prepare())
    SECRETS.add(token)
    return token


def env_file() -> dict[str, str]:
    """deploy/openbooking.env as systemd reads it (NAME=VALUE lines, shell-like quotes)."""
    values = {}
    for line in ENV_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, raw = line.partition("=")
            values[name] = "".join(shlex.split(raw))
    return values


def unit_command() -> list[str]:
    """The arguments of `openbooking` in deploy/systemd/openbooking.service's ExecStart."""
    (line,) = [line for line in UNIT.read_text().splitlines() if line.startswith("ExecStart=")]
    program, *arguments = shlex.split(line.removeprefix("ExecStart="))
    assert program.endswith("/.venv/bin/openbooking"), program
    return arguments


def host_env(address: str, port: int, home: Path, shared: dict[str, str]) -> dict[str, str]:
    """An app host's environment: deploy/openbooking.env with this test's machines."""
    settings = env_file()
    replaced = {
        "OPENBOOKING_HOST": address,
        "OPENBOOKING_PORT": str(port),
        "OPENBOOKING_VAR_DIR": str(home / "var"),
        "OPENBOOKING_TRUSTED_PROXIES": f'["{PROXY}"]',
        "OPENBOOKING_SMS_PROVIDER": "outbox",  # Twilio's settings stay, unused
        **shared,
    }
    assert replaced.keys() <= settings.keys(), sorted(replaced.keys() - settings.keys())
    return server_env() | settings | replaced


@contextmanager
def running_cluster(request: pytest.FixtureRequest, home: Path) -> Iterator[Cluster]:
    """nginx on 127.0.0.1 in front of two app hosts, started as docs/deploy.md says, on a
    fresh database and empty rate counters."""
    require_nginx()
    redis = redis_url()
    database_url: str = request.getfixturevalue("postgres_migrated")
    token = prepare_shared_state(database_url, redis)
    outbox = home / "sms-outbox.jsonl"
    shared = {
        "OPENBOOKING_DATABASE_URL": database_url,
        "OPENBOOKING_REDIS_URL": redis,
        "OPENBOOKING_SECRET_KEY": secrets.token_hex(32),
    }
    assert unit_command() == ["serve"], "the settings are all in the environment file"
    with ExitStack() as stack:
        started: list[AppHost] = []
        for number, address in enumerate(APP_HOSTS, start=1):
            directory = home / f"app{number}"
            directory.mkdir()
            port = free_port(address)
            env = host_env(address, port, directory, shared)
            env["OPENBOOKING_SMS_OUTBOX"] = str(outbox)  # one outbox the test reads
            log = directory / "server.log"
            process = start_serve(env, log)
            stack.callback(stop, process)
            started.append(AppHost(f"http://{address}:{port}", port, log, process))
        for host in started:
            wait_until_ready(host.process, host.url, host.log)
        hosts = (started[0], started[1])
        nginx = start_nginx(home / "nginx", (hosts[0].port, hosts[1].port), stack)
        yield Cluster(nginx, hosts, database_url, token, outbox)
        for host in hosts:
            assert "Traceback" not in host.output(), host.output()


@pytest.fixture(scope="module")
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """One cluster for the tests that leave it whole (each uses its own phones, slots and
    client addresses)."""
    with running_cluster(request, tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture
def own_cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    """A cluster for one test that breaks it."""
    with running_cluster(request, tmp_path) as running:
        yield running


# --- requests ----------------------------------------------------------------------------------


def phone(group: int, n: int) -> str:
    """A German mobile number of its own block of 10,000 (the per-prefix SMS cap is never hit)."""
    return f"+49151{group:02d}{n:02d}0000"


def send_code(http: httpx.Client, cluster: Cluster, to: str, forwarded: str | None = None) -> int:
    headers = cluster.headers | ({"X-Forwarded-For": forwarded} if forwarded else {})
    answer = http.post(f"/api/v1/book_code/{BERLIN}", json={"phone": to}, headers=headers)
    assert answer.status_code in (201, 429), answer.text
    return answer.status_code


def free_starts(http: httpx.Client, cluster: Cluster, days: int) -> tuple[int, list[str]]:
    """Camille's first service and her free starts on her first `days` bookable days from two
    days ahead (real time: the servers have no frozen clock)."""
    base, headers = "/api/v1", cluster.headers
    services = http.get(
        f"{base}/book_services/{NEW_YORK}", params={"staff_id": CAMILLE}, headers=headers
    ).json()["data"]["services"]
    service = int(services[0]["id"])
    dates = http.get(
        f"{base}/book_dates/{NEW_YORK}",
        params={"staff_id": CAMILLE, "service_ids": service},
        headers=headers,
    ).json()["data"]["booking_dates"]
    soon = (dt.datetime.now(ZoneInfo("America/New_York")).date() + dt.timedelta(days=2)).isoformat()
    starts: list[str] = []
    for day in [day for day in dates if day >= soon][:days]:
        answer = http.get(
            f"{base}/book_times/{NEW_YORK}/{CAMILLE}/{day}",
            params={"service_ids": service},
            headers=headers,
        )
        starts += [slot["datetime"] for slot in answer.json()["data"]]
    assert starts, "no free slot to book"
    return service, starts


def booking(service: int, when: str, n: int) -> dict[str, Any]:
    return {
        "phone": f"+1212555{n:04d}",
        "fullname": "Katherine Johnson",
        "email": "katherine@example.org",
        "appointments": [{"id": 1, "services": [service], "staff_id": CAMILLE, "datetime": when}],
    }


def served_bookings(host: AppHost) -> int:
    """How many POST /book_record requests the host answered (its access log)."""
    return len(re.findall(r"POST \S*book_record\S* \d{3} ", host.output()))


async def active_records(session: AsyncSession) -> list[tuple[int, dt.datetime]]:
    records = await session.scalars(select(Record).where(Record.status == RECORD_ACTIVE))
    return [(record.id, record.starts_at) for record in records]


async def record_ids(session: AsyncSession) -> set[int]:
    return set(await session.scalars(select(Record.id)))


# --- the tests ---------------------------------------------------------------------------------


def test_the_committed_file_matches_the_app_limits() -> None:
    """client_max_body_size is OPENBOOKING_MAX_BODY_BYTES; nginx's head and body timeouts are
    the app's body timeout (so nginx, which buffers bodies, cuts slow clients off first)."""
    text = CONFIG.read_text()
    (size,) = re.findall(r"client_max_body_size (\d+)k;", text)
    assert int(size) * 1024 == DEFAULTS.max_body_bytes
    for directive in ("client_header_timeout", "client_body_timeout"):
        (seconds,) = re.findall(rf"{directive} (\d+)s;", text)
        assert int(seconds) == DEFAULTS.body_timeout_seconds
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in text


class TestThroughNginx:
    def test_tls_redirect_and_body_limit(self, cluster: Cluster) -> None:
        with httpx.Client(base_url=cluster.nginx.http_url) as plain:
            answer = plain.get("/api/v1/bookform/1")
        assert answer.status_code == 301
        assert answer.headers["location"].startswith("https://")
        with cluster.nginx.client("127.0.0.5") as http:
            assert http.get("/api/v1/bookform/1", headers=cluster.headers).status_code == 200
            too_big = http.post(
                f"/api/v1/book_code/{BERLIN}",
                content=b"x" * (DEFAULTS.max_body_bytes + 1),
                headers=cluster.headers | {"Content-Type": "application/json"},
            )
            assert too_big.status_code == 413

    def test_each_client_address_has_its_own_budget(self, cluster: Cluster) -> None:
        """The SMS budget per client address (phones per hour) through nginx: the app hosts
        trust nginx's X-Forwarded-For, so 127.0.0.5 and 127.0.0.6 count apart, and whatever a
        client writes in X-Forwarded-For itself changes nothing."""
        budget = DEFAULTS.sms_phones_per_ip_hour
        forged = ["192.0.2.1", "127.0.0.6", "127.0.0.1", "192.0.2.4, 198.51.100.4", "not-an-ip"]
        with cluster.nginx.client("127.0.0.5") as first, cluster.nginx.client("127.0.0.6") as other:
            statuses = [
                send_code(first, cluster, phone(1, n), forwarded=forged[n % len(forged)])
                for n in range(budget + 2)
            ]
            assert statuses == [201] * budget + [429] * 2
            assert send_code(other, cluster, phone(2, 0)) == 201, "another address, its own budget"
            assert send_code(first, cluster, phone(1, 50), forwarded="192.0.2.99") == 429
        assert len(read_outbox(cluster.outbox)) == budget + 1


class TestTwoAppHosts:
    def test_twenty_customers_one_slot_across_both_hosts(self, cluster: Cluster) -> None:
        with cluster.nginx.client() as http:
            service, starts = free_starts(http, cluster, days=1)
        when = starts[0]

        async def race() -> list[httpx.Response]:
            async with cluster.nginx.async_client("127.0.0.5") as http:
                return await asyncio.gather(
                    *(
                        http.post(
                            f"/api/v1/book_record/{NEW_YORK}",
                            json=booking(service, when, n),
                            headers=cluster.headers,
                        )
                        for n in range(20)
                    )
                )

        statuses = [answer.status_code for answer in asyncio.run(race())]
        assert statuses.count(201) == 1, statuses
        assert statuses.count(422) == 19, statuses
        records = cluster.run(active_records)
        assert [starts_at for _, starts_at in records] == [dt.datetime.fromisoformat(when)]
        served = [served_bookings(host) for host in cluster.hosts]
        deadline = time.monotonic() + 30
        while sum(served) < 20 and time.monotonic() < deadline:  # the log line follows the answer
            time.sleep(0.1)
            served = [served_bookings(host) for host in cluster.hosts]
        assert sum(served) == 20, served
        assert min(served) > 0, f"nginx sent every booking to one host: {served}"

    def test_a_code_sent_by_one_host_is_checked_by_the_other(self, cluster: Cluster) -> None:
        to = phone(3, 0)
        with cluster.hosts[0].client() as first, cluster.hosts[1].client() as second:
            assert send_code(first, cluster, to) == 201
            (message,) = read_outbox(cluster.outbox, to)
            code = str(message["text"]).split()[0]
            SECRETS.add(code)
            login = second.post(
                "/api/v1/user/auth", json={"phone": to, "code": code}, headers=cluster.headers
            )
        assert login.status_code == 201, login.text
        SECRETS.add(login.json()["data"]["user_token"])

    def test_the_rate_limits_are_shared(self, cluster: Cluster) -> None:
        """One client address (127.0.0.7) spends its SMS budget half through each host."""
        budget = DEFAULTS.sms_phones_per_ip_hour
        source = "127.0.0.7"
        with cluster.hosts[0].client(source) as first, cluster.hosts[1].client(source) as second:
            statuses = [
                send_code((first, second)[n % 2], cluster, phone(4, n)) for n in range(budget + 2)
            ]
        assert statuses == [201] * budget + [429] * 2

    def test_a_host_killed_under_load_loses_no_acknowledged_booking(
        self, own_cluster: Cluster
    ) -> None:
        """Six customers book through nginx; after ten bookings the first host is killed
        (kill -9, its whole process group): every 201 is stored, and nginx goes on with the
        other host."""
        with own_cluster.nginx.client() as http:
            service, starts = free_starts(http, own_cluster, days=4)
        clients = 6
        assert len(starts) >= 40, len(starts)
        acknowledged: list[int] = []
        after_kill: list[int] = []
        statuses: list[int] = []
        killed = threading.Event()
        lock = threading.Lock()

        def customer(offset: int) -> None:
            with own_cluster.nginx.client(f"127.0.0.{10 + offset}") as http:
                for n in range(offset, len(starts), clients):
                    answer = http.post(
                        f"/api/v1/book_record/{NEW_YORK}",
                        json=booking(service, starts[n], n),
                        headers=own_cluster.headers,
                    )
                    with lock:
                        statuses.append(answer.status_code)
                        if answer.status_code == 201:
                            record_id = answer.json()["data"][0]["record_id"]
                            acknowledged.append(record_id)
                            if killed.is_set():
                                after_kill.append(record_id)

        threads = [threading.Thread(target=customer, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < 10 and any(thread.is_alive() for thread in threads):
            assert time.monotonic() < deadline, statuses
            time.sleep(0.01)  # a polling interval
        victim = own_cluster.hosts[0].process
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        killed.set()
        for thread in threads:
            thread.join()

        assert len(acknowledged) >= 10, statuses
        # 422: a start overlapping one just booked; 502: a booking in flight on the victim.
        assert set(statuses) <= {201, 422, 502}, statuses
        stored = own_cluster.run(record_ids)
        assert set(acknowledged) <= stored, sorted(set(acknowledged) - stored)
        assert after_kill, "nothing was booked after the kill"
        with own_cluster.nginx.client() as http:
            answers = [
                http.get("/api/v1/bookform/1", headers=own_cluster.headers) for _ in range(4)
            ]
        assert [answer.status_code for answer in answers] == [200] * 4
