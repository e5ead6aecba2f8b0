"""The load driver's guard against the wall clock: wrk times by it, so a paused and resumed
virtual machine would pass for a stalled server."""

from __future__ import annotations

import pytest
from bench.load import clock_step, run_seconds


@pytest.mark.parametrize(
    ("reported", "elapsed", "duration"),
    [
        (8.0, 8.05, 8),  # a steady run: wrk's own time just under the time seen from outside
        (8.3, 8.35, 8),  # a slow stop: wrk waits for answers in flight, and so does the caller
        (8.4, 8.05, 8),  # within the slack of the two clocks
    ],
)
def test_a_steady_clock_keeps_the_measurement(
    reported: float, elapsed: float, duration: float
) -> None:
    assert clock_step(reported, elapsed, duration) == 0.0


def test_a_clock_stepped_forward_shows_as_the_step() -> None:
    # The run of 2026-12-05 03:21 UTC: 8 s of wrk reported as 16.79 s, p99 9 s, while the
    # machine was forked ("crng reseeded due to virtual machine fork" in the kernel log).
    assert clock_step(16.79, 8.1, 8) == pytest.approx(8.69)


def test_a_clock_stepped_back_shows_as_a_negative_step() -> None:
    assert clock_step(3.0, 8.1, 8) == pytest.approx(-5.0)


def test_a_clock_stepped_back_further_than_the_run_is_read_below_zero() -> None:
    # wrk's unsigned count of microseconds wrapped around: 3 s of run, the clock set 4 s back
    assert run_seconds("18446744073708.60s") == pytest.approx(-0.95, abs=0.01)
    assert clock_step(run_seconds("18446744073708.60s"), 3.02, 3) == pytest.approx(-3.95, abs=0.01)
    assert run_seconds("8.01s") == pytest.approx(8.01)
