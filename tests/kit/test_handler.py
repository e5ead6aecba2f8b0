"""The direct handler (`kit.handler.direct_handler`, built by `deps.WorkRoute`) answers exactly as
FastAPI's own handler does: the same endpoints on a `WorkRoute` router and on a plain
`APIRoute` router, asked the same requests, give the same answers; dependencies are called
as often, in the same order, and background tasks run."""

from __future__ import annotations

from datetime import date  # noqa: TC003 - FastAPI reads the endpoints' annotations at run time
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Header, HTTPException, Request
from fastapi.routing import APIRoute
from starlette.responses import JSONResponse, Response

from openbooking.deps import WorkRoute
from openbooking.kit.handler import direct_handler
from openbooking.kit.routing import include_flat

CALLS: list[str] = []


async def who(request: Request) -> str:
    CALLS.append("who")
    name = request.headers.get("x-who", "")
    if name == "nobody":
        raise HTTPException(401, "who are you")
    return name


async def greeting(request: Request, name: Annotated[str, Depends(who)]) -> str:
    CALLS.append("greeting")
    return f"{request.method} hello {name}"


async def fresh() -> int:
    CALLS.append("fresh")
    return len(CALLS)


def answer(**values: Any) -> Response:
    return JSONResponse(values)


async def get_thing(
    thing_id: int,
    *,
    name: Annotated[str, Depends(who)],
    text: Annotated[str, Depends(greeting)],
    again: Annotated[str, Depends(who)],
    first: Annotated[int, Depends(fresh, use_cache=False)],
    second: Annotated[int, Depends(fresh, use_cache=False)],
    limit: int = 10,
    x_tag: Annotated[str | None, Header()] = None,
    count: Annotated[int | None, Header(alias="X-Count")] = None,
) -> Response:
    return answer(
        id=thing_id,
        name=name,
        text=text,
        again=again,
        fresh=second - first,
        limit=limit,
        tag=x_tag,
        count=count,
    )


async def get_needy(thing_id: int, x_need: Annotated[int, Header()]) -> Response:
    return answer(id=thing_id, need=x_need)


DONE: list[int] = []


async def post_thing(thing_id: int, request: Request, background: BackgroundTasks) -> Response:
    background.add_task(DONE.append, thing_id)
    return answer(id=thing_id, path=request.url.path)


async def get_day(thing_id: int, day: date, name: str) -> Response:
    return answer(id=thing_id, day=day.isoformat(), name=name)


def serve(route_class: type[APIRoute]) -> FastAPI:
    router = APIRouter(route_class=route_class)
    router.add_api_route("/things/{thing_id}", get_thing, methods=["GET"])
    router.add_api_route("/things/{thing_id}", post_thing, methods=["POST"])
    router.add_api_route("/things/{thing_id}/{day}/{name}", get_day, methods=["GET"])
    router.add_api_route("/needs/{thing_id}", get_needy, methods=["GET"])
    app = FastAPI()
    include_flat(app, router)
    return app


REQUESTS: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/things/7", {"x-who": "ann"}),
    ("GET", "/things/7?limit=3", {"x-who": "ann", "x-tag": "t", "x-count": "4"}),
    ("GET", "/things/7", {"x-who": "ann", "x-tag": "", "X-Count": "-2"}),
    ("GET", "/things/seven?limit=many", {"x-who": "ann"}),  # two errors, path first
    ("GET", "/things/seven?limit=many", {"x-who": "ann", "x-count": "x"}),  # path, query, header
    ("GET", "/things/seven", {"x-who": "nobody"}),  # the dependency's 401 before the 422
    ("POST", "/things/8", {}),
    ("POST", "/things/eight", {}),
    ("GET", "/things/9/2026-03-29/ann", {}),
    ("GET", "/things/nine/2026-02-30/ann", {}),  # both path parameters wrong, in order
    ("GET", "/things/9/tomorrow/ann", {}),
    ("GET", "/needs/1", {"x-need": "2"}),
    ("GET", "/needs/one", {}),  # a required header missing, after the path's error
]


async def answers(app: FastAPI) -> list[tuple[int, bytes, list[str], list[int]]]:
    found = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for method, url, headers in REQUESTS:
            CALLS.clear()
            DONE.clear()
            response = await client.request(method, url, headers=headers)
            found.append((response.status_code, response.content, [*CALLS], [*DONE]))
    return found


def test_every_route_of_the_shape_is_served_directly() -> None:
    for route in serve(WorkRoute).router.routes:
        if isinstance(route, APIRoute):
            assert direct_handler(route, route.dependant, route.get_route_handler()) is not None


async def test_it_answers_as_fastapis_handler() -> None:
    expected = await answers(serve(APIRoute))
    statuses = [status for status, _, _, _ in expected]
    assert statuses == [200, 200, 200, 422, 422, 401, 200, 422, 200, 422, 422, 200, 422]
    assert b'"tag":"t","count":4' in expected[1][1]
    assert b'"tag":"","count":-2' in expected[2][1]
    assert expected[4][1].count(b'"loc"') == 3
    assert expected[9][1].count(b'"loc"') == 2
    assert expected[12][1].count(b'"loc"') == 2
    assert b'"fresh":1' in expected[0][1]  # use_cache=False: called twice
    assert expected[0][2] == ["who", "greeting", "fresh", "fresh"]  # `who` once, cached
    assert expected[6][3] == [8]  # the background task ran
    assert await answers(serve(WorkRoute)) == expected


async def test_dependency_overrides_take_fastapis_handler() -> None:
    app = serve(WorkRoute)

    async def anyone() -> str:
        return "override"

    app.dependency_overrides[who] = anyone
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/things/1", headers={"x-who": "nobody"})
    assert response.status_code == 200
    assert response.json()["name"] == "override"


def test_other_shapes_keep_fastapis_handler() -> None:
    async def returns_a_dict(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    async def reads_its_body(thing: dict[str, int]) -> Response:
        return answer(**thing)

    def sync_endpoint() -> Response:
        return answer()

    async def with_a_response(response: Response) -> Response:
        return answer()

    for endpoint, methods in (
        (returns_a_dict, ["GET"]),
        (reads_its_body, ["POST"]),
        (sync_endpoint, ["GET"]),
        (with_a_response, ["GET"]),
    ):
        route = APIRoute("/x/{thing_id}", endpoint, methods=methods)
        assert direct_handler(route, route.dependant, route.get_route_handler()) is None
