"""Rate counters on the `limits` library: in process by default, in Redis when configured."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


class RateLimiter:
    """Moving-window counters keyed by a namespace and identifiers (phone, client address...)."""

    def __init__(self, redis_url: str | None = None) -> None:
        storage: Storage = MemoryStorage()
        if redis_url:
            remote = storage_from_string(redis_url.replace("redis://", "async+redis://", 1))
            assert isinstance(remote, Storage)
            storage = remote
        self.storage = storage
        self._limiter = MovingWindowRateLimiter(storage)

    async def hit(self, rule: str, *identifiers: str) -> Verdict:
        """Count one event; refused events are not counted."""
        item = parse(rule)
        if await self._limiter.hit(item, *identifiers):
            return Verdict(True)
        return Verdict(False, await self._retry_after(item, *identifiers))

    async def clear(self, rule: str, *identifiers: str) -> None:
        await self._limiter.clear(parse(rule), *identifiers)

    async def seen(self, rule: str, *identifiers: str) -> bool:
        """Whether any event was counted in the current window."""
        item = parse(rule)
        stats = await self._limiter.get_window_stats(item, *identifiers)
        return stats.remaining < item.amount

    async def _retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        stats = await self._limiter.get_window_stats(item, *identifiers)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def ping(self) -> bool:
        """Whether the counters' storage answers (Redis PING; always true in memory)."""
        return bool(await self.storage.check())

    async def reset(self) -> None:
        await self.storage.reset()

    async def aclose(self) -> None:
        """Close the Redis connections, if any (limits keeps them in its storage bridge)."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        pool = getattr(client, "connection_pool", None)
        if pool is not None:
            pool.disconnect()
