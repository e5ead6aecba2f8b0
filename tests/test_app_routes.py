"""Every route of the app answers a path as FastAPI's own `matches` would: the quick refusal
of `kit.routing.PrefixRoute` never turns away a path that is its route's."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from openbooking.app import create_app
from openbooking.config import Settings
from openbooking.kit.routing import PrefixRoute


def example(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "1", path)


@pytest.mark.parametrize("root_path", ["", "/booking"])
def test_every_route_matches_every_apps_path_as_fastapi_does(root_path: str) -> None:
    app = create_app(Settings(database_url="sqlite+aiosqlite://"))
    routes = [route for route in app.routes if isinstance(route, PrefixRoute)]
    assert len(routes) > 60
    paths = {example(route.path) for route in app.routes if hasattr(route, "path")}
    paths |= {path + "/" for path in paths} | {"/", "/api/v1/nothing"}
    matched = 0
    for route in routes:
        for path in sorted(paths):
            for method in [*sorted(route.methods or {"GET"}), "PATCH"]:
                scope = {
                    "type": "http",
                    "method": method,
                    "path": root_path + path,
                    "root_path": root_path,
                }
                found = route.matches(scope)
                assert found == APIRoute.matches(route, scope), (route.path, method, path)
                matched += found[0].value > 0
    assert matched >= len(routes)  # each route matched its own example at least
