from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import time_machine

from tests.bookings.helpers import NOW
from tests.verification.conftest import customer, outbox

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["clock", "customer", "outbox"]


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """Tuesday morning, two days before the visits (helpers.DAY)."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
