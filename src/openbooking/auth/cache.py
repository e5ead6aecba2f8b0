"""Each process remembers the partner tokens it has just seen valid, for a short while.

Every request carries the partner token, and looking it up cost a database round trip of its
own: more than the work of a cached endpoint such as `i18n`. A valid token is remembered for
`seconds` (OPENBOOKING_PARTNER_CACHE_SECONDS, 2 by default; 0 turns this off), so a revoked
token stops working in every worker within that time. Unknown tokens are not remembered, and
neither is anything but the partner's id and name.

When a token's entry runs out while many requests carry it, one of them looks it up and the
others wait for that lookup (one refresh per token, not one per waiting request: a busy worker
would otherwise send all of its waiting requests to the database at once, every `seconds`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from openbooking.kit.clock import now

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from openbooking.widget.service import WidgetScope

MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class Partner:
    """The integrator a request comes from; for a booking form's public widget key
    (`widget.service`), id 0 and the form's scope."""

    id: int
    name: str
    widget: WidgetScope | None = None


class PartnerCache:
    def __init__(self, seconds: float) -> None:
        self.ttl = timedelta(seconds=seconds)
        self._valid: dict[str, tuple[Partner, datetime]] = {}
        self._loading: dict[str, asyncio.Task[Partner | None]] = {}

    async def get(
        self, digest: str, load: Callable[[], Awaitable[Partner | None]]
    ) -> Partner | None:
        """The partner of the token whose digest is `digest`, from memory while fresh, else
        from `load` (the database)."""
        moment = now()
        remembered = self._valid.get(digest)
        if remembered is not None and remembered[1] > moment:
            return remembered[0]
        if not self.ttl:
            return await load()
        loading = self._loading.get(digest)
        if loading is None:
            loading = asyncio.ensure_future(self._load(digest, load))
            loading.add_done_callback(_retrieve)  # a failure no waiter is left to see
            self._loading[digest] = loading
        # Shielded: a waiter that goes away (its client hung up) does not cancel the lookup
        # the others wait for.
        return await asyncio.shield(loading)

    async def _load(
        self, digest: str, load: Callable[[], Awaitable[Partner | None]]
    ) -> Partner | None:
        moment = now()
        try:
            partner = await load()
        finally:
            self._loading.pop(digest, None)
        if partner is None:
            self._valid.pop(digest, None)
            return partner
        if len(self._valid) >= MAX_ENTRIES:
            self._valid.clear()
        self._valid[digest] = (partner, moment + self.ttl)
        return partner


def _retrieve(task: asyncio.Task[Partner | None]) -> None:
    if not task.cancelled():
        task.exception()
