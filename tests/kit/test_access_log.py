"""The access log: one line per request naming the route's template, never a raw API path."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import httpx


@pytest.fixture
def access_lines(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="openbooking.access")
    return caplog


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "openbooking.access"]


class TestAccessLog:
    @pytest.mark.parametrize(
        "path",
        ["/docs", "/openapi.json", "/docs/static/swagger-ui.css", "/docs/static/favicon.png"],
    )
    async def test_docs_pages_log_their_path(
        self, client: httpx.AsyncClient, access_lines: pytest.LogCaptureFixture, path: str
    ) -> None:
        assert (await client.get(path)).status_code == 200
        (line,) = logged(access_lines)
        assert line.startswith(f"GET {path} 200 ")

    async def test_api_paths_log_the_template_only(
        self, client: httpx.AsyncClient, access_lines: pytest.LogCaptureFixture
    ) -> None:
        hashed = f"/api/v1/user/records/1/{'cd34' * 8}"
        assert (await client.get(hashed)).status_code == 401
        (line,) = logged(access_lines)
        assert line.startswith("GET ")
        assert "/user/records/{record_id}/{record_hash} 401 " in line
        assert "cd34" not in line

    @pytest.mark.parametrize(
        "path", ["/api/v1/nothing/ab12ab12ab12", "/docs/static/ab12ab12ab12.js", "/ab12ab12ab12"]
    )
    async def test_unknown_paths_are_not_logged(
        self, client: httpx.AsyncClient, access_lines: pytest.LogCaptureFixture, path: str
    ) -> None:
        assert (await client.get(path)).status_code == 404
        (line,) = logged(access_lines)
        assert line.startswith("GET (no route) 404 ")
        assert "ab12" not in line
