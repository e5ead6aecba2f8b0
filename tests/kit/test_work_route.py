"""The request's unit of work, opened and ended by the route class (`deps.WorkRoute`, and
`auth.routes.PartnerRoute` for the API routers): a request's writes are committed when its
endpoint succeeds or fails with an error that keeps its writes, rolled back on any other error,
and the answer is the same as when a generator dependency ended the unit of work."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

import pytest
from fastapi import APIRouter, Depends, HTTPException, Request, routing
from sqlalchemy import select
from starlette.responses import Response

from openbooking.deps import SessionDep, WorkDep, WorkRoute, WriteSessionDep, needs_work
from openbooking.kit.db import UnitOfWork, unit_of_work
from openbooking.kit.errors import ApiError
from openbooking.models import PartnerToken

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from fastapi import FastAPI


class Refused(ApiError):
    status_code = 409
    default_message = "Refused."


class RefusedButCounted(Refused):
    keeps_writes = True


async def _store(session: Any, name: str, outcome: str) -> Response:
    session.add(PartnerToken(name=name, token_sha256=name.ljust(64, "0")))
    await session.flush()
    if outcome == "refused":
        raise Refused
    if outcome == "counted":
        raise RefusedButCounted
    if outcome == "http":
        raise HTTPException(status_code=418, detail="No.", headers={"X-Why": "tea"})
    return Response(b"stored", status_code=201)


async def stored(name: str, session: WriteSessionDep, outcome: str = "ok") -> Response:
    return await _store(session, name, outcome)


async def stored_by_work(name: str, work: WorkDep, outcome: str = "ok") -> Response:
    return await _store(await work.write(), name, outcome)


async def _generator_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """The unit of work as a generator dependency, as every route had it before."""
    async with unit_of_work(request.app.state.sessionmaker) as work:
        yield work


OldWorkDep = Annotated[UnitOfWork, Depends(_generator_work, scope="function")]


async def stored_before(name: str, work: OldWorkDep, outcome: str = "ok") -> Response:
    return await _store(await work.write(), name, outcome)


SEEN: list[Any] = []  # every session `held` was given, kept (so no address is reused)


async def held(session: SessionDep) -> dict[str, Any]:
    """What the request's session holds when the request starts; the session is kept busy a
    moment, as a slow request keeps it."""
    SEEN.append(session)
    state = {
        "session": len(SEEN) - 1,
        "objects": len(session.identity_map),
        "info": sorted(session.info),
        "in_transaction": session.in_transaction(),
    }
    await asyncio.sleep(0.01)
    return state


@pytest.fixture
def routes(app: FastAPI) -> None:
    router = APIRouter(route_class=WorkRoute)
    router.add_api_route("/test/held", held, methods=["GET"])
    router.add_api_route("/test/stored/{name}", stored, methods=["POST"])
    router.add_api_route("/test/stored-by-work/{name}", stored_by_work, methods=["POST"])
    app.include_router(router)
    before = APIRouter()
    before.add_api_route("/test/stored-before/{name}", stored_before, methods=["POST"])
    app.include_router(before)


async def _names(app: FastAPI) -> list[str]:
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(PartnerToken.name).order_by(PartnerToken.name)))


def _answer(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k != "x-request-id"}
    return response.status_code, response.content, headers


OUTCOMES = {"ok": 201, "refused": 409, "counted": 409, "http": 418}


@pytest.mark.usefixtures("routes")
class TestWorkRoute:
    async def test_writes_are_kept_on_success_and_on_errors_that_keep_them(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        for route in ("stored", "stored-by-work"):
            for outcome, status in OUTCOMES.items():
                name = f"{route}-{outcome}"
                response = await client.post(f"/test/{route}/{name}", params={"outcome": outcome})
                assert response.status_code == status, name
                assert app.state.engine.pool.checkedout() == 0, name
        assert await _names(app) == [
            "stored-by-work-counted",
            "stored-by-work-ok",
            "stored-counted",
            "stored-ok",
        ]

    async def test_the_answers_are_those_of_the_generator_dependency(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        for outcome in OUTCOMES:
            sent = {"outcome": outcome}
            routed = await client.post(f"/test/stored/routed-{outcome}", params=sent)
            before = await client.post(f"/test/stored-before/before-{outcome}", params=sent)
            assert _answer(routed) == _answer(before), outcome
        assert await _names(app) == [
            "before-counted",
            "before-ok",
            "routed-counted",
            "routed-ok",
        ]

    async def test_many_requests_on_one_connection(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        """Each request gives its connection back: a leak would exhaust the pool."""
        for number in range(40):
            outcome = "ok" if number % 2 else "refused"
            response = await client.post(f"/test/stored/n{number:02}", params={"outcome": outcome})
            assert response.status_code == OUTCOMES[outcome]
        assert app.state.engine.pool.checkedout() == 0
        assert len(await _names(app)) == 20

    async def test_a_session_serves_one_request_at_a_time_and_starts_each_clean(
        self, client: httpx.AsyncClient
    ) -> None:
        """A session that ended its request holding nothing serves a later request (making one
        costs more than the rest of a light request), never two at once, and holds nothing of
        the request before, however much that one wrote."""
        SEEN.clear()
        assert (await client.post("/test/stored/written")).status_code == 201
        answers = await asyncio.gather(*(client.get("/test/held") for _ in range(6)))
        later = await client.get("/test/held")
        states = [answer.json() for answer in [*answers, later]]
        clean = {"objects": 0, "info": [], "in_transaction": False}
        assert all({k: state[k] for k in clean} == clean for state in states)
        at_once = [SEEN[state["session"]] for state in states[:-1]]
        assert len({id(session) for session in at_once}) == len(at_once)
        assert any(SEEN[states[-1]["session"]] is session for session in at_once)


class TestEveryRoute:
    def test_every_route_that_needs_the_unit_of_work_opens_it(self, app: FastAPI) -> None:
        needing = [
            context.original_route
            for context in routing.iter_route_contexts(app.routes)
            if isinstance(context.original_route, routing.APIRoute)
            and needs_work(context.original_route.dependant)
        ]
        assert len(needing) > 40
        for route in needing:
            assert isinstance(route, WorkRoute), route.path
