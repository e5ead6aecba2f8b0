"""The in-process booking benchmark, shrunk: every booking it makes is a 201 and stored."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bench import dataset, inprocess_booking
from sqlalchemy import func, select

from openbooking.kit.db import create_engine
from openbooking.models import Record

if TYPE_CHECKING:
    from pathlib import Path


async def _stored(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(select(func.count(Record.id)))).scalar_one())
    finally:
        await engine.dispose()


def test_it_books_distinct_slots_concurrently(tmp_path: Path) -> None:
    url = dataset.sqlite_url(tmp_path / "bench.db")
    result = asyncio.run(inprocess_booking.run(url, 6, 3, None, tmp_path))

    assert result["bookings"] == 6
    assert result["clients"] == 3
    assert asyncio.run(_stored(url)) == inprocess_booking.WARMUP + 6


def test_raw_blocks_book_each_block_s_slots(tmp_path: Path) -> None:
    url = dataset.sqlite_url(tmp_path / "bench.db")
    result = asyncio.run(inprocess_booking.run(url, 4, 2, None, tmp_path, raw=True, blocks=2))

    assert result["mode"] == "raw ASGI"
    assert len(result["blocks_cpu_ms_per_booking"]) == 2
    assert asyncio.run(_stored(url)) == inprocess_booking.WARMUP + 8
