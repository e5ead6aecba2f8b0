"""Every availability answer for a grid of questions, to compare two versions of the code.

    .venv/bin/python -m bench.answers OUT [--records N] [--keep DIR] [--postgres URL]

Builds (or reuses, with `--keep`, as `bench.inprocess_reads` does) the bench business with N
stored records, then asks `book_times`, `book_dates` (by member and anyone; by month, by range
and to the horizon), `book_staff` (with and without a time and seances), `book_staff_seances`,
`book_services` (with a member and a time) and the timeslots, in both dialects, for several
members and service choices, malformed and unknown ones included, under four frozen clocks
(two in December, one each in the week before Berlin's spring-forward and fall-back of 2027),
through the ASGI app, and writes one line per question: the question, the status, the headers
that are not per request, and the body, byte for byte. Run it with the old code (through
`PYTHONPATH`) and the new on the same kept database and `cmp` the two files.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import time_machine

from bench import dataset, inprocess_reads
from openbooking.app import create_app
from openbooking.config import Settings
from openbooking.kit.envelope import ALTEGIO_MEDIA_TYPE, YCLIENTS_MEDIA_TYPE

CLOCKS = (
    datetime(2026, 12, 2, 8, 17, 3, tzinfo=UTC),
    datetime(2026, 12, 9, 16, 59, 59, tzinfo=UTC),
    datetime(2027, 3, 24, 6, 30, tzinfo=UTC),  # Berlin springs forward on 28 March 2027
    datetime(2027, 10, 27, 21, 5, tzinfo=UTC),  # … and falls back on 31 October 2027
)
SERVICES: tuple[tuple[int, ...], ...] = ((), (101,), (102,), (101, 103), (103, 102, 101), (999,))
LOCATIONS = (1, 2, 7)  # 7: none


def _members(location: int) -> list[int]:
    ids = dataset.staff_ids(location) if location in (1, 2) else []
    return [0, *ids[:3], *ids[10:12], ids[-1] if ids else 4242, 99_999]


def questions(now: datetime) -> list[tuple[str, list[tuple[str, Any]]]]:
    """(path, query) pairs for the clock `now`."""
    found: list[tuple[str, list[tuple[str, Any]]]] = []
    today = now.date()
    days = [today + timedelta(days=n) for n in (-1, 0, 1, 2, 3, 4, 5, 6, 7, 13, 59, 60, 61)]
    for location in LOCATIONS:
        members = _members(location)
        found.append((f"/api/v1/company/{location}/settings/timeslots", []))
        for services in SERVICES:
            ids = [("service_ids[]", s) for s in services]
            found.append((f"/api/v1/book_staff/{location}", ids))
            found.append((f"/api/v1/book_staff/{location}", [*ids, ("without_seances", "1")]))
            for hour in ("10:00", "13:15", "18:45"):
                at = f"{(today + timedelta(days=4)).isoformat()}T{hour}:00"
                found.append((f"/api/v1/book_staff/{location}", [*ids, ("datetime", at)]))
            for member in members:
                found.extend((f"/api/v1/book_times/{location}/{member}/{day}", ids) for day in days)
                found.append((f"/api/v1/book_staff_seances/{location}/{member}", ids))
                found.append((f"/api/v1/book_dates/{location}", [("staff_id", member), *ids]))
                found.append(
                    (
                        f"/api/v1/book_dates/{location}",
                        [("staff_id", member), ("date", days[9].isoformat()), *ids],
                    )
                )
                found.append(
                    (
                        f"/api/v1/book_dates/{location}",
                        [
                            ("staff_id", member),
                            ("date_from", days[2].isoformat()),
                            ("date_to", days[10].isoformat()),
                            *ids,
                        ],
                    )
                )
            for member in members[:3]:
                at = f"{(today + timedelta(days=3)).isoformat()}T11:00:00"
                found.append(
                    (
                        f"/api/v1/book_services/{location}",
                        [("staff_id", member), ("datetime", at), *ids],
                    )
                )
    # Malformed and odd questions: the same refusals, in the same words.
    found += [
        ("/api/v1/book_times/1/1001/2026-13-01", []),
        ("/api/v1/book_times/1/1001.0/2026-12-10", [("service_ids", "101,102")]),
        ("/api/v1/book_times/1/x/2026-12-10", []),
        ("/api/v1/book_times/1/1001/2026-12-10", [("service_ids[]", "abc")]),
        ("/api/v1/book_times/1/1001/2026-12-10", [("service_ids[0]", "101")]),
        ("/api/v1/book_times/1/1001/2026-12-10", [("service_ids", "101"), ("service_ids", "103")]),
        ("/api/v1/book_dates/1", [("staff_id", "-1")]),
        ("/api/v1/book_dates/1", [("date_from", "2026-12-10")]),
        ("/api/v1/book_dates/1", [("date_from", "2026-12-10"), ("date_to", "2026-12-01")]),
        ("/api/v1/book_dates/1", [("date_from", "2026-01-10"), ("date_to", "2028-12-01")]),
        ("/api/v1/book_staff/1", [("datetime", "yesterday")]),
        ("/api/v1/book_staff_seances/1/1001", [("datetime", "2027-03-28T02:30:00")]),
        ("/api/v1/book_staff/1", [("datetime", "2027-10-31T02:30:00")]),
    ]
    return found


async def ask(database: dataset.Database, out: Any) -> int:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]
    app = create_app(Settings(database_url=database.url))
    count = 0
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://answers"
        ) as client:
            for now in CLOCKS:
                with time_machine.travel(now, tick=False):
                    for path, query in questions(now):
                        for accept in (ALTEGIO_MEDIA_TYPE, YCLIENTS_MEDIA_TYPE):
                            response = await client.get(
                                path,
                                params=query,
                                headers={
                                    "Authorization": f"Bearer {database.token}",
                                    "Accept": accept,
                                },
                            )
                            headers = {
                                k: v
                                for k, v in response.headers.items()
                                if k.lower() not in ("x-request-id", "date")
                            }
                            line = {
                                "now": now.isoformat(),
                                "path": path,
                                "query": query,
                                "accept": accept,
                                "status": response.status_code,
                                "headers": headers,
                                "body": response.content.decode(),
                            }
                            out.write(json.dumps(line) + "\n")
                            count += 1
    finally:
        await app.state.engine.dispose()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--records", type=int, default=6_000)
    parser.add_argument("--keep")
    parser.add_argument("--postgres")
    args = parser.parse_args()

    async def go() -> int:
        database = await inprocess_reads.database(args.records, args.keep, args.postgres)
        with open(args.out, "w") as out:  # noqa: ASYNC230 - a benchmark's own file
            return await ask(database, out)

    print(json.dumps({"answers": asyncio.run(go())}))


if __name__ == "__main__":
    main()
