"""The process's SQLite writer turn (`kit.db.WriterQueue`): arrival order, and a 503
(`DatabaseBusy`) only for a writer whose queue stood still for the whole patience."""

from __future__ import annotations

import asyncio

import pytest

from openbooking.kit.db import DatabaseBusy, WriterQueue

PATIENCE = 0.4


async def _line_up(queue: WriterQueue, count: int, served: list[int]) -> list[asyncio.Task[None]]:
    """`count` writers queued behind the holder, in order; each notes its turn and holds it
    until released."""

    async def writer(number: int) -> None:
        await queue.acquire(PATIENCE)
        served.append(number)

    tasks = []
    for number in range(count):
        tasks.append(asyncio.create_task(writer(number)))
        await asyncio.sleep(0)  # queued before the next one arrives
    return tasks


async def test_writers_get_the_turn_one_at_a_time_in_arrival_order() -> None:
    queue = WriterQueue()
    await queue.acquire(PATIENCE)
    served: list[int] = []
    tasks = await _line_up(queue, 5, served)
    for expected in range(5):
        assert served == list(range(expected))
        queue.release()
        await asyncio.sleep(0)
        assert served == list(range(expected + 1))
        assert queue.locked()
    queue.release()
    assert not queue.locked()
    await asyncio.gather(*tasks)


async def test_a_queue_that_keeps_moving_serves_every_writer_past_the_patience() -> None:
    """Load, not an outage: the last writer waits about 1.6 x the patience (the turn passing
    every eighth of it) and still gets in."""
    queue = WriterQueue()
    await queue.acquire(PATIENCE)
    served: list[int] = []
    tasks = await _line_up(queue, 12, served)
    for _ in range(13):
        await asyncio.sleep(PATIENCE / 8)
        queue.release()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert served == list(range(12))
    assert not queue.locked()


async def test_a_stuck_queue_refuses_its_writers_and_keeps_the_holders_turn() -> None:
    queue = WriterQueue()
    await queue.acquire(PATIENCE)
    served: list[int] = []
    tasks = await _line_up(queue, 3, served)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(result) for result in results] == [DatabaseBusy] * 3
    assert served == []
    assert queue.locked()  # the holder still writes; nobody else got in
    queue.release()
    assert not queue.locked()
    await queue.acquire(PATIENCE)  # the next writer goes straight in
    assert queue.locked()


async def test_a_newcomer_gets_its_own_patience_after_the_queue_stood_still() -> None:
    """A writer arriving late behind a stuck queue is refused a full patience after it came,
    not when the writers before it are."""
    queue = WriterQueue()
    await queue.acquire(PATIENCE)
    served: list[int] = []
    early = await _line_up(queue, 1, served)
    await asyncio.sleep(PATIENCE / 2)
    late = await _line_up(queue, 1, served)
    with pytest.raises(DatabaseBusy):
        await early[0]
    assert not late[0].done()
    queue.release()
    await late[0]
    assert served == [0]


async def test_a_writer_that_stops_waiting_is_skipped() -> None:
    queue = WriterQueue()
    await queue.acquire(PATIENCE)
    served: list[int] = []
    tasks = await _line_up(queue, 3, served)
    tasks[1].cancel()
    queue.release()
    await asyncio.sleep(0)
    queue.release()
    await asyncio.sleep(0)
    assert served == [0, 2]
    queue.release()
    assert not queue.locked()
    await asyncio.gather(tasks[0], tasks[2])


async def test_a_writer_cancelled_as_it_is_handed_the_turn_passes_it_on() -> None:
    queue = WriterQueue()
    await queue.acquire(PATIENCE)
    served: list[int] = []
    tasks = await _line_up(queue, 2, served)
    queue.release()  # the turn goes to writer 0 ...
    tasks[0].cancel()  # ... which stops waiting before it runs
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert tasks[0].cancelled()
    assert served == [1]
    assert queue.locked()
    queue.release()
    assert not queue.locked()
