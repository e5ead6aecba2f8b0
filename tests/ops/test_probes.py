"""GET /healthz and GET /readyz: what a load balancer or Kubernetes asks, without a token."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import httpx
import pytest
from alembic.script import ScriptDirectory

from openbooking import migrations
from openbooking.app import close_resources, create_app
from openbooking.config import Settings
from tests.conftest import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from contextlib import AbstractAsyncContextManager
    from pathlib import Path

REDIS_URL = os.environ.get("OPENBOOKING_TEST_REDIS_URL", "")


def probe_client(settings: Settings) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """A client for an app of its own (for settings the `client` fixture does not have)."""

    @asynccontextmanager
    async def running() -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings)
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
                yield client
        finally:
            await close_resources(app)

    return running()


class TestHealthz:
    async def test_up_without_any_token(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert response.headers["cache-control"] == "no-store"

    async def test_not_in_the_apis_openapi_document(self, client: httpx.AsyncClient) -> None:
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert not {"/healthz", "/readyz", "/metrics"} & set(paths)


class TestReadyz:
    async def test_ready_on_a_migrated_database(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json() == {
            "status": "ok",
            "checks": {"database": "ok", "schema": "ok"},
        }

    async def test_a_database_without_schema_is_503(self, tmp_path: Path) -> None:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
        async with probe_client(settings) as client:
            response = await client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["database"] == "ok"
        assert "openbooking db upgrade" in body["checks"]["schema"]

    async def test_an_older_schema_is_503_naming_both_revisions(self, tmp_path: Path) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        script = ScriptDirectory.from_config(migrations.alembic_config(url))
        head = script.get_revision("head")
        assert head is not None
        older = head.down_revision
        assert isinstance(older, str)
        migrations.upgrade(url, older)
        async with probe_client(Settings(database_url=url)) as client:
            response = await client.get("/readyz")
        assert response.status_code == 503
        schema = response.json()["checks"]["schema"]
        assert older in schema
        assert head.revision in schema

    async def test_an_unreachable_database_is_503_not_500(self) -> None:
        url = f"postgresql+asyncpg://nobody:secret-pw@127.0.0.1:{free_port()}/nothing"
        async with probe_client(Settings(database_url=url)) as client:
            response = await client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["checks"]["database"].startswith("unreachable")
        assert body["checks"]["schema"] == "unknown"
        assert "secret-pw" not in response.text

    async def test_an_unreachable_redis_is_503(self, settings: Settings) -> None:
        configured = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
        async with probe_client(configured) as client:
            response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"] == {
            "database": "ok",
            "schema": "ok",
            "redis": "unreachable",
        }

    async def test_a_reachable_redis_is_ready(self, settings: Settings) -> None:
        if not REDIS_URL:
            pytest.skip("Redis not configured (set OPENBOOKING_TEST_REDIS_URL)")
        async with probe_client(settings.model_copy(update={"redis_url": REDIS_URL})) as client:
            response = await client.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json()["checks"]["redis"] == "ok"
