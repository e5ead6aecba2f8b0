"""A bounded pool for expensive blocking work (argon2): a fixed number of threads, a short
queue, and a refusal instead of a longer one."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, TypeVar

import anyio

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


class PoolBusy(Exception):
    """Every slot is taken and the queue is full: the caller answers 429 (overload)."""


def default_slots() -> int:
    """Half the cores, at least one: the other half stays free for everything else."""
    return max(1, (os.cpu_count() or 2) // 2)


class BoundedPool:
    """At most `slots` calls run at once, each in a worker thread; at most `queue` more wait
    for a slot (first come, first served). A call that finds the queue full raises `PoolBusy`
    at once, so neither the waiting nor the memory of the running calls can grow without
    bound. One pool per process."""

    def __init__(self, slots: int, queue: int) -> None:
        self._slots = asyncio.Semaphore(slots)
        self._threads = anyio.CapacityLimiter(slots)  # never waited on: the semaphore is
        self.queue = queue
        self.waiting = 0

    async def run(self, func: Callable[..., T], *args: object) -> T:
        # No await between the check and the count, so the queue bound is exact.
        if self._slots.locked() and self.waiting >= self.queue:
            raise PoolBusy
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        try:
            return await anyio.to_thread.run_sync(func, *args, limiter=self._threads)
        finally:
            self._slots.release()
