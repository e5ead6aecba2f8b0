"""Request metrics are added up in the process and written in one go (`kit.metrics.flush`): what
a scrape shows must be what Prometheus' own `Histogram.observe` and `Counter.inc` would have
written request by request."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram

from openbooking.kit import metrics
from tests.ops.metrics import samples

if TYPE_CHECKING:
    from collections.abc import Iterator

ROUTE = "/tests/metrics/{case}"
# On bucket bounds, between them, beyond the last one, and zero.
LATENCIES = [0.0, 0.001, 0.005, 0.0050001, 0.03, 0.1, 0.7, 2.5, 9.9, 10.0, 11.0, 0.005, 0.25]


@pytest.fixture
def route(request: pytest.FixtureRequest) -> Iterator[str]:
    """A route template of this test's own: the process's metrics grow over the suite."""
    metrics.flush()
    yield ROUTE.replace("{case}", request.node.name)
    metrics.flush()


def written_value(name: str, **labels: str) -> float:
    """A series' value as written to the registry (what a scrape shows once flushed)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(route: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = samples(metrics.exposition().decode())
    return {key: value for key, value in found.items() if ("route", route) in key[1]}


def test_a_scrape_shows_what_observing_one_by_one_would(route: str) -> None:
    reference = Histogram(
        "openbooking_http_request_duration_seconds",
        "reference",
        ["method", "route"],
        buckets=metrics.LATENCY_BUCKETS,
        registry=CollectorRegistry(),
    )
    for seconds in LATENCIES:
        metrics.observe_request("GET", route, 200, seconds)
        reference.labels("GET", route).observe(seconds)
    metrics.observe_request("BREW", route, 405, 0.002)
    reference.labels("other", route).observe(0.002)
    metrics.observe_request("GET", route, 404, 0.002)
    reference.labels("GET", route).observe(0.002)

    found = scrape(route)
    expected = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in reference.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    }
    for key, value in expected.items():
        assert found[key] == pytest.approx(value), key
    counted = "openbooking_http_requests_total"
    assert found[
        (counted, frozenset({"method": "GET", "route": route, "status": "200"}.items()))
    ] == len(LATENCIES)
    assert (
        found[(counted, frozenset({"method": "other", "route": route, "status": "405"}.items()))]
        == 1
    )
    assert (
        found[(counted, frozenset({"method": "GET", "route": route, "status": "404"}.items()))] == 1
    )


async def test_counts_are_written_within_the_flush_interval(
    route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "FLUSH_SECONDS", 0.05)
    labels = {"method": "GET", "route": route, "status": "200"}

    def written() -> float:
        return written_value("openbooking_http_requests_total", **labels)

    metrics.observe_request("GET", route, 200, 0.01)
    metrics.observe_request("GET", route, 200, 0.02)
    assert written() == 0  # counted, not written yet
    for _ in range(100):  # the timer writes them, no scrape needed
        await asyncio.sleep(0.05)
        if written():
            break
    assert written() == 2


async def test_counted_series_show_in_the_next_scrape_and_within_the_flush_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    metrics.flush()
    monkeypatch.setattr(metrics, "FLUSH_SECONDS", 0.05)

    hits, booked = "openbooking_availability_cache_total", "openbooking_bookings_created_total"
    before = (
        written_value(hits, result="hit"),
        written_value(hits, result="miss"),
        written_value(booked),
    )
    metrics.count(metrics.AVAILABILITY_CACHE, "hit")
    metrics.count(metrics.AVAILABILITY_CACHE, "hit")
    metrics.count(metrics.AVAILABILITY_CACHE, "miss")
    metrics.count(metrics.BOOKINGS_CREATED, amount=3)
    assert written_value(booked) == before[2]  # counted, not written yet
    found = samples(metrics.exposition().decode())  # a scrape writes them first
    assert found[(hits, frozenset({("result", "hit")}))] == before[0] + 2
    assert found[(hits, frozenset({("result", "miss")}))] == before[1] + 1
    assert found[(booked, frozenset())] == before[2] + 3

    metrics.count(metrics.BOOKINGS_CREATED)
    for _ in range(100):  # the timer writes it, no scrape needed
        await asyncio.sleep(0.05)
        if written_value(booked) == before[2] + 4:
            break
    assert written_value(booked) == before[2] + 4
