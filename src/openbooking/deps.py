"""What every endpoint may ask of the request: settings, dialect, the unit of work and its
session, and the verification context. Who is calling lives in `auth`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request, routing
from sqlalchemy.ext.asyncio import AsyncSession

from openbooking.config import Settings
from openbooking.kit.auth import client_address
from openbooking.kit.db import UnitOfWork, give_back, session_of
from openbooking.kit.envelope import Dialect, dialect_from_accept
from openbooking.kit.handler import direct_handler
from openbooking.kit.headers import header
from openbooking.kit.routing import PrefixRoute
from openbooking.verification.service import Context

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from fastapi.dependencies.models import Dependant
    from starlette.responses import Response

    Handler = Callable[[Request], Coroutine[Any, Any, Response]]


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_dialect(request: Request) -> Dialect:
    default = Dialect(request.app.state.settings.default_dialect)
    return dialect_from_accept(request.headers.get("accept"), default)


WORK_KEY = "openbooking.unit_of_work"  # the request's unit of work, in the ASGI scope


async def get_unit_of_work(request: Request) -> UnitOfWork:
    """The request's unit of work, opened and finished by the route class (`WorkRoute`).

    Read from the scope by a plain `async def`: a generator dependency cost every request an
    exit stack and another round of FastAPI's dependency solving for `SessionDep`."""
    try:
        work: UnitOfWork = request.scope[WORK_KEY]
    except KeyError:
        raise RuntimeError(f"{request.url.path}: its router needs route_class=WorkRoute") from None
    return work


async def get_session(request: Request) -> AsyncSession:
    return (await get_unit_of_work(request)).session


async def get_write_session(request: Request) -> AsyncSession:
    """The request's session in a writer's transaction (BEGIN IMMEDIATE on SQLite)."""
    return await (await get_unit_of_work(request)).write()


SettingsDep = Annotated[Settings, Depends(get_settings)]
DialectDep = Annotated[Dialect, Depends(get_dialect)]
WorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
WriteSessionDep = Annotated[AsyncSession, Depends(get_write_session)]
_WORK_CALLS = (get_unit_of_work, get_session, get_write_session)


class WorkRoute(PrefixRoute):
    """A route that opens the request's unit of work itself when its endpoint (or one of its
    dependencies) asks for one, and ends it once the handler returns, before the answer is
    sent: commit on success and on errors that `keeps_writes`, roll back on any other error,
    then close (`UnitOfWork.end`). The request edge still owns the transaction; it is no
    longer a generator dependency (`Depends(..., scope="function")`), whose exit stack,
    shielded close and extra round of dependency solving were about a third of `book_times`'
    CPU (docs/decisions/0015-unit-of-work-route.md). Every router whose endpoints use
    `WorkDep`, `SessionDep` or `WriteSessionDep` takes it (API routers via `PartnerRoute`)."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if effective_route(self) is self:  # not built for an inclusion (kit/handler.py)
            handler = direct_handler(self, self.dependant, handler) or handler
        if not needs_work(self.dependant):
            return handler

        async def worked(request: Request) -> Response:
            sessionmaker = request.app.state.sessionmaker
            work = UnitOfWork(session_of(sessionmaker))
            request.scope[WORK_KEY] = work
            try:
                response = await handler(request)
            except BaseException as error:
                await work.end(error)
                raise
            await work.end(None)
            give_back(sessionmaker, work)
            return response

        return worked


def effective_route(route: routing.APIRoute) -> Any:
    """The route object FastAPI builds this handler for. For a router added with
    `include_router`, FastAPI (0.13x on) builds each route's handler lazily, once per
    inclusion, from an `_EffectiveRouteContext` (prefix, the app's default response class, its
    dependency overrides) that it names in a context variable while it calls
    `get_route_handler`; the app's own routes (kit/routing.py) are built for themselves."""
    context_var = getattr(routing, "_effective_route_context_var", None)
    context = context_var.get() if context_var is not None else None
    if context is not None and getattr(context, "original_route", None) is route:
        return context
    return route


def needs_work(dependant: Dependant) -> bool:
    """Whether solving `dependant` asks for the request's unit of work."""
    return any(node.call in _WORK_CALLS or needs_work(node) for node in dependant.dependencies)


async def get_context(request: Request) -> Context:
    # The settings from the app, not from `SettingsDep`: a dependency of a dependency costs
    # every request another round of FastAPI's dependency solving.
    state = request.app.state
    settings: Settings = state.settings
    return Context(
        settings=settings,
        key=state.secret_key,
        limiter=state.limiter,
        sender=state.sms,
        hashing=state.hashing,
        client=client_of(request, settings),
    )


def client_of(request: Request, settings: Settings) -> str:
    """Who the client is, for per-address limits (`kit.auth.client_address`), read from the
    ASGI scope: X-Forwarded-For counts only behind a trusted proxy."""
    scope = request.scope
    peer = scope["client"][0] if scope.get("client") else None
    forwarded = header(scope, b"x-forwarded-for") if settings.trusted_proxies else None
    return client_address(peer, forwarded, settings.trusted_proxies)


ContextDep = Annotated[Context, Depends(get_context)]
