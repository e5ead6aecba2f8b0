from __future__ import annotations

from tests.bookings.conftest import clock
from tests.verification.conftest import customer, outbox

__all__ = ["clock", "customer", "outbox"]
