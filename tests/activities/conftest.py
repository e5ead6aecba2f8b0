from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
import time_machine

from tests.verification.conftest import customer, outbox

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["customer", "frozen", "outbox"]

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # a Tuesday


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    """Tuesday 2026-12-01 morning; ask for it before `customer` so the demo's sessions are
    made from that day."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
