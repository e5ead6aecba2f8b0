"""Routers added flat (`kit.routing.include_flat`) answer and document exactly as FastAPI's
`include_router` would: a router of path operations with its own dependencies, tags and
responses, under a prefix, in an app with its own default response class."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles

from openbooking.kit.routing import PrefixRoute, include_flat


async def needs_key(x_key: Annotated[str | None, Header()] = None) -> str:
    if x_key != "k":
        raise HTTPException(401, "no key")
    return x_key


class ThingsJSON(JSONResponse):
    """The app's default response class: its media type tells it was the one applied."""

    media_type = "application/x-things+json"


router = APIRouter(
    dependencies=[Depends(needs_key)], tags=["things"], responses={418: {"description": "Tea"}}
)


@router.get("/things/{thing_id}", summary="One thing")
async def get_thing(thing_id: int, verbose: bool = False) -> dict[str, Any]:
    return {"id": thing_id, "verbose": verbose}


@router.post("/things/{thing_id}", status_code=201, responses={409: {"description": "Taken"}})
async def post_thing(thing_id: int) -> dict[str, int]:
    return {"created": thing_id}


@router.get("/things/{thing_id}/parts", include_in_schema=False)
async def parts(thing_id: int) -> list[int]:
    return [thing_id]


def two_apps() -> tuple[FastAPI, FastAPI]:
    nested = FastAPI(default_response_class=ThingsJSON)
    nested.include_router(router, prefix="/api")
    flat = FastAPI(default_response_class=ThingsJSON)
    include_flat(flat, router, "/api")
    return nested, flat


REQUESTS: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/api/things/7", {"x-key": "k"}),
    ("GET", "/api/things/7?verbose=true", {"x-key": "k"}),
    ("GET", "/api/things/7", {}),  # the router's dependency refuses: 401
    ("GET", "/api/things/seven", {"x-key": "k"}),  # 422
    ("GET", "/api/things/7?verbose=maybe", {"x-key": "k"}),  # 422
    ("POST", "/api/things/7", {"x-key": "k"}),  # 201
    ("DELETE", "/api/things/7", {"x-key": "k"}),  # 405 with Allow
    ("GET", "/api/things/7/parts", {"x-key": "k"}),
    ("GET", "/api/nothing", {"x-key": "k"}),  # 404
    ("GET", "/things/7", {"x-key": "k"}),  # 404: the prefix is part of the path
]


async def answers(app: FastAPI) -> list[tuple[int, bytes, list[tuple[str, str]]]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        found = []
        for method, url, headers in REQUESTS:
            response = await client.request(method, url, headers=headers)
            found.append((response.status_code, response.content, response.headers.multi_items()))
        return found


async def test_a_flat_router_answers_as_an_included_one() -> None:
    nested, flat = two_apps()
    expected = await answers(nested)
    assert [status for status, _, _ in expected] == [
        200,
        200,
        401,
        422,
        422,
        201,
        405,
        200,
        404,
        404,
    ]
    assert await answers(flat) == expected


def test_a_flat_router_is_documented_as_an_included_one() -> None:
    nested, flat = two_apps()
    assert flat.openapi() == nested.openapi()
    assert "/api/things/{thing_id}/parts" not in flat.openapi()["paths"]


def test_its_routes_are_the_apps_own() -> None:
    _, flat = two_apps()
    paths = [route.path for route in flat.router.routes if isinstance(route, APIRoute)]
    assert paths == [
        "/api/things/{thing_id}",
        "/api/things/{thing_id}",
        "/api/things/{thing_id}/parts",
    ]


async def test_the_apps_dependency_overrides_reach_its_routes() -> None:
    _, flat = two_apps()

    async def any_key() -> str:
        return "any"

    flat.dependency_overrides[needs_key] = any_key
    transport = httpx.ASGITransport(app=flat)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/api/things/7")).status_code == 200


def test_a_router_with_a_mount_is_refused(tmp_path: Any) -> None:
    mounted = APIRouter()
    mounted.routes.append(Mount("/static", app=StaticFiles(directory=tmp_path)))
    with pytest.raises(TypeError, match="only path operations"):
        include_flat(FastAPI(), mounted)


# ---------------------------------------------------------------- PrefixRoute's quick refusal


def prefix_app() -> FastAPI:
    """Routes whose literal starts are substrings of one another, a converter, a root path
    parameter, and paths with no parameter at all."""
    app = FastAPI()
    prefixed = APIRouter(route_class=PrefixRoute)

    async def endpoint() -> None:
        return None

    for path in (
        "/api/things",
        "/api/things/{thing_id}",
        "/api/things/{thing_id}/parts",
        "/api/things/{thing_id}/parts/{part:path}",
        "/api/thing",
        "/{anything}",
        "/api/v{version}/x",
    ):
        prefixed.add_api_route(path, endpoint, methods=["GET"])
    include_flat(app, prefixed)
    return app


PATHS = [
    "/api/things",
    "/api/things/",
    "/api/things/7",
    "/api/things/7/parts",
    "/api/things/7/parts/a/b",
    "/api/thing",
    "/api/thingsx",
    "/api/v2/x",
    "/x",
    "/",
    "",
    "/API/things",
]


def scope_of(path: str, root_path: str = "", method: str = "GET") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": root_path + path, "root_path": root_path}


@pytest.mark.parametrize("root_path", ["", "/mounted", "/api"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_prefix_route_matches_every_path_as_fastapi_does(root_path: str, method: str) -> None:
    routes = [route for route in prefix_app().routes if isinstance(route, PrefixRoute)]
    assert len(routes) == 7
    for route in routes:
        for path in PATHS:
            scope = scope_of(path, root_path, method)
            assert route.matches(scope) == APIRoute.matches(route, scope), (route.path, path)


def test_a_prefix_route_refuses_a_path_without_its_literal_start() -> None:
    route = next(r for r in prefix_app().routes if getattr(r, "path", "") == "/api/v{version}/x")
    assert isinstance(route, PrefixRoute)
    assert route.literal_start == "/api/v"
    assert route.matches(scope_of("/api/things")) == (Match.NONE, {})
    assert route.matches(scope_of("/api/v2/x"))[0] is Match.FULL
    assert route.matches(scope_of("/api/v2/x", method="POST"))[0] is Match.PARTIAL
