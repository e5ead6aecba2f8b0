"""Real databases for every test: a migrated SQLite file per test, and PostgreSQL when configured.

Set OPENBOOKING_TEST_POSTGRES_URL=postgresql+asyncpg://... to run every database test on
PostgreSQL too; with OPENBOOKING_REQUIRE_POSTGRES=1 (as in CI) a missing URL is an error.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import insert, text

from openbooking import migrations
from openbooking.app import close_resources, create_app
from openbooking.business import service as business
from openbooking.config import Settings
from openbooking.kit.db import create_engine, create_sessionmaker
from openbooking.kit.envelope import ALTEGIO_MEDIA_TYPE, YCLIENTS_MEDIA_TYPE, Dialect
from openbooking.models import Base, BusyVersion, CatalogVersion
from openbooking.models.records import BUSY_BUCKETS
from openbooking.partners import service as partners

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession

# Every secret the suite handles (codes, tokens, passwords), and every log line it produced:
# tests/test_zz_secrets_in_logs.py, run last, checks that no secret reached a log.
SECRETS: set[str] = set()
LOG_LINES: list[str] = []
SECRET_KEYS = {
    "user_token",
    "record_hash",
    "code",
    "password",
    "new_password",
    "old_password",
    "confirmation_code",
}
DEV_ONLY_LOGGERS = ("openbooking.sms.console",)  # prints codes by design, for development


class _LogCapture(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(DEV_ONLY_LOGGERS):
            LOG_LINES.append(self.format(record))


def pytest_configure(config: pytest.Config) -> None:
    handler = _LogCapture(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger("openbooking").setLevel(logging.DEBUG)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.startswith("tests/test_zz_"))


def remember_secrets(value: Any) -> None:
    """Note the secrets inside a request or response body (JSON-like values)."""
    if isinstance(value, dict):
        for key, item in value.items():
            # A "code" is secret when it is a verification code (digits); the facets of
            # activity/filters have codes such as "service".
            secret = key in SECRET_KEYS and (key != "code" or str(item).isdigit())
            if secret and isinstance(item, str | int) and len(str(item)) >= 6:
                SECRETS.add(str(item))
            remember_secrets(item)
    elif isinstance(value, list):
        for item in value:
            remember_secrets(item)


POSTGRES_URL = os.environ.get("OPENBOOKING_TEST_POSTGRES_URL", "")
REQUIRE_POSTGRES = os.environ.get("OPENBOOKING_REQUIRE_POSTGRES") == "1"
MEDIA_TYPES = {Dialect.ALTEGIO: ALTEGIO_MEDIA_TYPE, Dialect.YCLIENTS: YCLIENTS_MEDIA_TYPE}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrations.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("OPENBOOKING_REQUIRE_POSTGRES=1 but OPENBOOKING_TEST_POSTGRES_URL is unset")
        pytest.skip("PostgreSQL not configured (set OPENBOOKING_TEST_POSTGRES_URL)")
    migrations.upgrade(POSTGRES_URL)
    return POSTGRES_URL


async def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            # The rows the migrations put there (a test may have deleted them).
            await connection.execute(insert(CatalogVersion).values(id=1, version=0))
            await connection.execute(
                insert(BusyVersion),
                [{"bucket": bucket, "version": 0} for bucket in range(BUSY_BUCKETS)],
            )
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated")
    await _truncate_postgres(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, var_dir=tmp_path / "var")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    yield application
    await close_resources(application)


@pytest.fixture
def run_in_session(app: FastAPI) -> Callable[[Callable[[AsyncSession], Awaitable[Any]]], Any]:
    """Run `work(session)` in one committed transaction against the app's database."""

    async def run(work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        async with create_sessionmaker(app.state.engine)() as session, session.begin():
            return await work(session)

    return run


@pytest.fixture
async def partner_token(run_in_session: Any) -> str:
    token: str = await run_in_session(lambda session: partners.create(session, "tests"))
    SECRETS.add(token)
    return token


@pytest.fixture
async def demo(run_in_session: Any) -> None:
    await run_in_session(business.load_demo_once)


class Api:
    """A client that speaks like a widget: partner token and one dialect's Accept header."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.token = token

    async def get(
        self,
        path: str,
        *,
        dialect: Dialect | None = Dialect.ALTEGIO,
        params: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = {"Authorization": f"Bearer {self.token}"}
        if dialect is not None:
            sent["Accept"] = MEDIA_TYPES[dialect]
        sent.update(headers or {})
        response = await self.client.get(f"/api/v1{path}", params=params, headers=sent)
        remember_response(response)
        return response


def remember_response(response: httpx.Response) -> None:
    if response.headers.get("content-type", "").startswith("application/json"):
        remember_secrets(response.json())


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def api(client: httpx.AsyncClient, partner_token: str) -> Api:
    return Api(client, partner_token)


def free_port() -> int:
    """A loopback TCP port nobody listens on (for a real server process)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
