"""What every endpoint may ask of the request: settings, dialect, the unit of work and its
session, and the verification context. Who is calling lives in `auth`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from openbooking.config import Settings
from openbooking.kit.auth import client_address
from openbooking.kit.db import UnitOfWork, unit_of_work
from openbooking.kit.envelope import Dialect, dialect_from_accept
from openbooking.verification.service import Context


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_dialect(request: Request) -> Dialect:
    default = Dialect(request.app.state.settings.default_dialect)
    return dialect_from_accept(request.headers.get("accept"), default)


async def get_unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """The request's unit of work: it ends (commits or rolls back) when the handler returns,
    before the answer is sent."""
    async with unit_of_work(request.app.state.sessionmaker) as work:
        yield work


SettingsDep = Annotated[Settings, Depends(get_settings)]
DialectDep = Annotated[Dialect, Depends(get_dialect)]
WorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work, scope="function")]


async def get_session(work: WorkDep) -> AsyncSession:
    return work.session


async def get_write_session(work: WorkDep) -> AsyncSession:
    """The request's session in a writer's transaction (BEGIN IMMEDIATE on SQLite)."""
    return await work.write()


SessionDep = Annotated[AsyncSession, Depends(get_session)]
WriteSessionDep = Annotated[AsyncSession, Depends(get_write_session)]


async def get_context(request: Request) -> Context:
    # The settings from the app, not from `SettingsDep`: a dependency of a dependency costs
    # every request another round of FastAPI's dependency solving.
    settings: Settings = request.app.state.settings
    peer = request.client.host if request.client else None
    return Context(
        settings=settings,
        key=request.app.state.secret_key,
        limiter=request.app.state.limiter,
        sender=request.app.state.sms,
        hashing=request.app.state.hashing,
        client=client_address(
            peer, request.headers.get("x-forwarded-for"), settings.trusted_proxies
        ),
    )


ContextDep = Annotated[Context, Depends(get_context)]
