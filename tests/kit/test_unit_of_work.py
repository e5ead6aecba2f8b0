"""The unit of work commits what a request changed, and nothing when it only read outside a
transaction (`UnitOfWork.finish` skips that empty commit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from openbooking.catalog.repository import catalog_version
from openbooking.kit.db import unit_of_work
from openbooking.models import CatalogVersion, PartnerToken

if TYPE_CHECKING:
    from fastapi import FastAPI


async def _names(app: FastAPI) -> list[str]:
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(PartnerToken.name).order_by(PartnerToken.name)))


class TestFinish:
    async def test_an_object_added_without_a_statement_is_stored(self, app: FastAPI) -> None:
        async with unit_of_work(app.state.sessionmaker) as work:
            work.session.add(PartnerToken(name="added", token_sha256="a" * 64))
        assert await _names(app) == ["added"]

    async def test_changes_after_a_checkpoint_are_stored(self, app: FastAPI) -> None:
        async with unit_of_work(app.state.sessionmaker) as work:
            token = PartnerToken(name="first", token_sha256="b" * 64)
            work.session.add(token)
            await work.checkpoint()
            token.name = "renamed"  # a loaded object changed with no transaction open
            work.session.add(PartnerToken(name="second", token_sha256="c" * 64))
        assert await _names(app) == ["renamed", "second"]

    async def test_a_change_after_reads_made_outside_a_transaction_is_stored(
        self, app: FastAPI
    ) -> None:
        """The reads run outside any transaction (`kit.fastread`: on the driver, on
        PostgreSQL), before and after a checkpoint; the change after them begins one, which
        the end commits."""
        async with unit_of_work(app.state.sessionmaker) as work:
            assert await catalog_version(work.session) == 0
            work.session.add(PartnerToken(name="kept", token_sha256="d" * 64))
            await work.checkpoint()
            assert await catalog_version(work.session) == 0
            await work.session.execute(update(CatalogVersion).values(version=7))
        async with app.state.sessionmaker() as session:
            assert await catalog_version(session) == 7
        assert await _names(app) == ["kept"]

    async def test_a_read_only_unit_of_work_ends_cleanly(self, app: FastAPI) -> None:
        async with unit_of_work(app.state.sessionmaker) as work:
            count = await work.session.scalar(select(func.count()).select_from(PartnerToken))
        assert count == 0
        async with unit_of_work(app.state.sessionmaker) as work:
            pass
        assert not work.session.in_transaction()
        assert await _names(app) == []


class TestClose:
    async def test_a_session_that_holds_nothing_is_left_as_it_is(self, app: FastAPI) -> None:
        async with unit_of_work(app.state.sessionmaker) as work:
            pass
        assert not work.session.in_transaction()
        assert app.state.engine.pool.checkedout() == 0

    async def test_a_session_that_read_is_closed(self, app: FastAPI) -> None:
        async with unit_of_work(app.state.sessionmaker) as work:
            await work.session.scalar(select(func.count()).select_from(PartnerToken))
            assert app.state.engine.pool.checkedout() == 1
        assert app.state.engine.pool.checkedout() == 0

    async def test_loaded_objects_are_detached(self, app: FastAPI) -> None:
        async with unit_of_work(app.state.sessionmaker) as work:
            token = PartnerToken(name="kept", token_sha256="d" * 64)
            work.session.add(token)
            await work.checkpoint()  # committed: no transaction, the object still in the session
        assert token not in work.session
        assert app.state.engine.pool.checkedout() == 0
