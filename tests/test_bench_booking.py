"""The booking benchmark, shrunk: a real server, concurrent clients racing for a few slots.

It asserts correctness only (every slot booked once, no overlap, no 5xx), never a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench import booking, dataset

if TYPE_CHECKING:
    from pathlib import Path

TINY = booking.Budget(rounds=1, free_rounds=1, baseline_seconds=1, warmup_seconds=1, clients=16)


def test_contended_bookings_take_every_slot_once(tmp_path: Path) -> None:
    result = booking.bench(dataset.sqlite_url(tmp_path / "booking.db"), 1, TINY, tmp_path)

    invariants = result["invariants"]
    assert invariants["overlapping_pairs"] == 0
    assert invariants["stored"] == invariants["created"]
    assert invariants["unbooked"] == 0
    for phase in ("contended", "uncontended"):
        assert set(result[phase]["statuses"]) <= {"201", "422/433"}, result[phase]
    assert result["contended"]["refused_433"] > 0  # the clients did race
    assert result["server_log"]["error_lines"] == 0, result["server_log"]
