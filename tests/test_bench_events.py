"""The group-event benchmark, shrunk: a real server, clients racing for the seats of a session.

It asserts correctness only (exactly the capacity booked, the rest told "no places left", no
5xx), never a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench import dataset, events

if TYPE_CHECKING:
    from pathlib import Path

TINY = events.Budget(rounds=1, capacity=20, baseline_seconds=1, warmup_seconds=1, clients=8)


def test_a_popular_session_is_filled_exactly(tmp_path: Path) -> None:
    result = events.bench(dataset.sqlite_url(tmp_path / "events.db"), 1, TINY, tmp_path)

    assert result["invariants"]["ok"], result["invariants"]
    assert result["booking"]["statuses"]["200"] == 20
    assert set(result["booking"]["statuses"]) == {"200", "422/441"}
