"""The business file: checked before anything is written, applied in place, ids stable."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from sqlalchemy import select

from openbooking.business import document, loader
from openbooking.business.document import BusinessFileError
from openbooking.business.service import demo_path
from openbooking.models import (
    Base,
    Bookform,
    Location,
    ScheduleInterval,
    Service,
    Staff,
    StaffService,
)

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncSession

    Runner = Any


def minimal() -> dict[str, Any]:
    return {
        "version": 1,
        "locations": [
            {
                "id": 5001,
                "title": "Corner Barber",
                "timezone": "Europe/Berlin",
                "categories": [{"id": 51, "title": "Hair"}],
                "services": [
                    {"id": 501, "title": "Cut", "category": 51, "duration": "45m"},
                    {"id": 502, "title": "Shave", "category": 51, "duration": 1800},
                ],
                "positions": [{"id": 61, "title": "Barber"}],
                "staff": [
                    {
                        "id": 601,
                        "name": "Ola",
                        "position": 61,
                        "services": [501, {"service": 502, "duration": "20m", "price_min": 9}],
                        "schedule": {
                            "weekly": {
                                "mon": ["09:00-13:00", "14:00-18:00"],
                                "tue": {"hours": "10:00-19:00", "breaks": ["14:00-14:30"]},
                            },
                            "exceptions": [{"date": "2026-12-24", "hours": ["09:00-12:00"]}],
                            "days_off": ["2026-12-25"],
                        },
                    }
                ],
                "bookforms": [{"id": 71}],
            }
        ],
    }


async def snapshot(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for 'changes nothing' comparisons."""
    tables = {}
    for table in Base.metadata.sorted_tables:
        rows = await session.execute(select(table).order_by(*table.primary_key.columns))
        tables[table.name] = [tuple(row) for row in rows]
    return tables


def load(data: dict[str, Any]) -> Any:
    async def work(session: AsyncSession) -> None:
        document.check(data)
        await loader.load(session, data)

    return work


class TestDocument:
    def test_demo_file_is_valid(self) -> None:
        data = document.read(demo_path())
        assert len(data["locations"]) == 2
        zones = {location["timezone"] for location in data["locations"]}
        assert len(zones) == 2

    def test_yaml_dates_and_json_both_read(self, tmp_path: Path) -> None:
        path = tmp_path / "business.yaml"
        text = yaml.safe_dump(minimal()).replace("'2026-12-24'", "2026-12-24")
        path.write_text(text)
        assert document.read(path)["locations"][0]["staff"][0]["schedule"]["exceptions"]
        json_path = tmp_path / "business.json"
        json_path.write_text(__import__("json").dumps(minimal()))
        assert document.read(json_path)["locations"][0]["id"] == 5001

    @pytest.mark.parametrize(
        ("mutate", "path", "words"),
        [
            (lambda d: d["locations"][0].pop("timezone"), "locations[0]", "timezone"),
            (
                lambda d: d["locations"][0].update(timezone="Mars/Olympus"),
                "locations[0].timezone",
                "IANA",
            ),
            (
                lambda d: d["locations"][0]["services"][1].update(category=99),
                "locations[0].services[1].category",
                "no category 99",
            ),
            (
                lambda d: d["locations"][0]["services"][0].update(duration="45 minutes"),
                "locations[0].services[0].duration",
                "",
            ),
            (
                lambda d: d["locations"][0]["staff"][0]["services"].append(777),
                "locations[0].staff[0].services[2]",
                "no service 777",
            ),
            (
                lambda d: d["locations"][0]["staff"][0]["schedule"]["weekly"].update(
                    wed=["18:00-09:00"]
                ),
                "locations[0].staff[0].schedule.weekly.wed.hours[0]",
                "end after",
            ),
            (
                lambda d: d["locations"][0]["staff"][0]["schedule"]["weekly"].update(
                    wed={"hours": "09:00-12:00", "breaks": ["13:00-14:00"]}
                ),
                "locations[0].staff[0].schedule.weekly.wed.breaks[0]",
                "inside",
            ),
            (
                lambda d: d["locations"][0]["services"].append(
                    {"id": 501, "title": "Dup", "category": 51, "duration": 60}
                ),
                "locations[0].services[2].id",
                "also used",
            ),
            (
                lambda d: d["locations"][0]["staff"][0].update(position=5),
                "locations[0].staff[0].position",
                "no position 5",
            ),
            (
                lambda d: d["locations"][0].update(colour="red"),
                "locations[0]",
                "colour",
            ),
            (
                lambda d: d["locations"][0]["bookforms"][0].update(lang="tlh-KL"),
                "locations[0].bookforms[0].lang",
                "unknown language",
            ),
            (lambda d: d.update(bookforms=[{"id": 9}]), "bookforms", "chain"),
        ],
    )
    def test_errors_name_the_bad_field(self, mutate: Any, path: str, words: str) -> None:
        data = minimal()
        mutate(data)
        with pytest.raises(BusinessFileError) as caught:
            document.check(data)
        assert caught.value.path == path
        assert words in str(caught.value)

    @pytest.mark.parametrize("content", ["locations: [", "- just\n- a list", "\xff\xfe", ""])
    def test_unreadable_files_are_refused(self, tmp_path: Path, content: str) -> None:
        path = tmp_path / "bad.yaml"
        path.write_bytes(content.encode("latin-1"))
        with pytest.raises(BusinessFileError):
            document.read(path)

    def test_durations(self) -> None:
        assert document.seconds("1h30m") == 5400
        assert document.seconds("45m") == 2700
        assert document.seconds("90s") == 90
        assert document.seconds(600) == 600


class TestLoader:
    async def test_loads_everything_with_the_files_ids(self, run_in_session: Runner) -> None:
        await run_in_session(load(minimal()))

        async def check(session: AsyncSession) -> None:
            member = await session.get(Staff, 601)
            assert member is not None
            assert member.location_id == 5001
            link = await session.get(StaffService, (601, 502))
            assert link is not None
            assert (link.duration_seconds, link.price_min, link.price_max) == (1200, 9.0, 9.0)
            intervals = (
                await session.scalars(
                    select(ScheduleInterval).where(ScheduleInterval.staff_id == 601)
                )
            ).all()
            weekly = sorted(
                (i.weekday, i.start_second, i.end_second, i.is_break)
                for i in intervals
                if i.weekday is not None
            )
            assert weekly == [
                (0, 9 * 3600, 13 * 3600, False),
                (0, 14 * 3600, 18 * 3600, False),
                (1, 10 * 3600, 19 * 3600, False),
                (1, 14 * 3600, 14 * 3600 + 1800, True),
            ]
            assert sum(1 for i in intervals if i.date is not None) == 1

        await run_in_session(check)

    async def test_reloading_the_same_file_changes_nothing(self, run_in_session: Runner) -> None:
        await run_in_session(load(minimal()))
        before = await run_in_session(snapshot)
        await run_in_session(load(minimal()))
        assert await run_in_session(snapshot) == before

    async def test_demo_reload_changes_nothing(self, run_in_session: Runner) -> None:
        demo = document.read(demo_path())
        await run_in_session(load(demo))
        before = await run_in_session(snapshot)
        await run_in_session(load(copy.deepcopy(demo)))
        assert await run_in_session(snapshot) == before

    async def test_edited_file_updates_in_place(self, run_in_session: Runner) -> None:
        await run_in_session(load(minimal()))
        edited = minimal()
        location = edited["locations"][0]
        location["title"] = "Corner Barber & Co"
        location["services"][0]["duration"] = "1h"
        location["services"].pop(1)
        location["staff"][0]["services"] = [501]
        location["staff"][0]["schedule"]["weekly"]["mon"] = ["08:00-12:00"]
        await run_in_session(load(edited))

        async def check(session: AsyncSession) -> None:
            row = await session.get(Location, 5001)
            assert row is not None
            assert row.title == "Corner Barber & Co"
            cut = await session.get(Service, 501)
            assert cut is not None
            assert cut.duration_seconds == 3600
            shave = await session.get(Service, 502)
            assert shave is not None
            assert shave.deleted, "a service removed from the file is soft-deleted"
            assert await session.get(StaffService, (601, 502)) is None
            monday = (
                await session.scalars(
                    select(ScheduleInterval).where(
                        ScheduleInterval.staff_id == 601, ScheduleInterval.weekday == 0
                    )
                )
            ).all()
            assert [(i.start_second, i.end_second) for i in monday] == [(8 * 3600, 12 * 3600)]

        await run_in_session(check)
        # Putting it back revives the same row under the same id.
        await run_in_session(load(minimal()))

        async def revived(session: AsyncSession) -> None:
            shave = await session.get(Service, 502)
            assert shave is not None
            assert not shave.deleted

        await run_in_session(revived)

    async def test_ids_of_another_location_are_refused_and_nothing_is_written(
        self, run_in_session: Runner
    ) -> None:
        await run_in_session(load(minimal()))
        before = await run_in_session(snapshot)
        other = minimal()
        other["locations"][0]["id"] = 5002
        other["locations"][0]["title"] = "Another shop"
        with pytest.raises(BusinessFileError) as caught:
            await run_in_session(load(other))
        assert caught.value.path == "locations[0].categories[0].id"
        assert "another location" in caught.value.message
        assert await run_in_session(snapshot) == before


def _with_chain_form(data: dict[str, Any], steps: list[dict[str, Any]]) -> None:
    data["chain"] = {"id": 9, "title": "Barbers United"}
    data["bookforms"] = [{"id": 72, "steps": steps}]


class TestChecks:
    """Mistakes that used to load silently are refused, naming the field."""

    @pytest.mark.parametrize(
        ("mutate", "path", "words"),
        [
            (
                lambda d: d["locations"][0]["staff"][0]["schedule"]["weekly"].update(
                    mon=["10:00-14:00", "12:00-18:00"]
                ),
                "locations[0].staff[0].schedule.weekly.mon.hours[1]",
                "overlaps 10:00-14:00",
            ),
            (
                lambda d: d["locations"][0]["staff"][0]["schedule"]["weekly"].update(
                    fri={"hours": ["14:00-20:00", "09:00-15:00"], "breaks": []}
                ),
                "locations[0].staff[0].schedule.weekly.fri.hours[1]",
                "overlaps 14:00-20:00 ([0])",
            ),
            (
                lambda d: d["locations"][0]["staff"][0]["schedule"]["exceptions"][0].update(
                    hours=["09:00-12:00", "09:00-12:00"]
                ),
                "locations[0].staff[0].schedule.exceptions[0].hours.hours[1]",
                "overlap",
            ),
            (
                lambda d: d["locations"][0]["staff"][0]["schedule"]["weekly"].update(
                    tue={"hours": "10:00-19:00", "breaks": ["13:00-14:00", "13:30-14:30"]}
                ),
                "locations[0].staff[0].schedule.weekly.tue.breaks[1]",
                "overlaps 13:00-14:00",
            ),
            (
                lambda d: d["locations"][0]["bookforms"][0].update(
                    steps=[{"step": "master", "default": 999}, {"step": "service"}]
                ),
                "locations[0].bookforms[0].steps[0].default",
                "no staff member 999 in this location",
            ),
            (
                lambda d: d["locations"][0]["bookforms"][0].update(
                    steps=[{"step": "service", "default": 601}]
                ),
                "locations[0].bookforms[0].steps[0].default",
                "no service 601 in this location",
            ),
            (
                lambda d: d["locations"][0]["bookforms"][0].update(
                    steps=[{"step": "master", "default": "601"}]
                ),
                "locations[0].bookforms[0].steps[0].default",
                "staff member",
            ),
            (
                lambda d: _with_chain_form(
                    d, [{"step": "company"}, {"step": "master", "default": 602}]
                ),
                "bookforms[0].steps[1].default",
                "no staff member 602 in this chain",
            ),
            (
                lambda d: d["locations"][0].update(language="fr-FR"),
                "locations[0].language",
                "en-US, ru-RU",
            ),
            (
                lambda d: d["locations"][0]["bookforms"][0].update(lang="es-ES"),
                "locations[0].bookforms[0].lang",
                "en-US, ru-RU",
            ),
            (
                lambda d: d["locations"][0]["bookforms"][0].update(langs=["en-US", "it-IT"]),
                "locations[0].bookforms[0].langs[1]",
                "no widget strings for 'it-IT'",
            ),
        ],
    )
    def test_refused_with_the_path(self, mutate: Any, path: str, words: str) -> None:
        data = minimal()
        mutate(data)
        with pytest.raises(BusinessFileError) as caught:
            document.check(data)
        assert caught.value.path == path
        assert words in caught.value.message

    async def test_touching_ranges_and_known_defaults_load(self, run_in_session: Runner) -> None:
        data = minimal()
        location = data["locations"][0]
        location["staff"][0]["schedule"]["weekly"]["wed"] = ["10:00-12:00", "12:00-14:00"]
        location["bookforms"][0]["steps"] = [
            {"step": "service", "default": 502},
            {"step": "master", "default": 601},
        ]
        _with_chain_form(data, [{"step": "company"}, {"step": "master", "default": 601}])
        await run_in_session(load(data))

        async def check(session: AsyncSession) -> None:
            wednesday = (
                await session.scalars(
                    select(ScheduleInterval)
                    .where(ScheduleInterval.staff_id == 601, ScheduleInterval.weekday == 2)
                    .order_by(ScheduleInterval.start_second)
                )
            ).all()
            assert [(i.start_second, i.end_second) for i in wednesday] == [
                (10 * 3600, 12 * 3600),
                (12 * 3600, 14 * 3600),
            ]
            form = await session.get(Bookform, 71)
            assert form is not None
            assert form.steps == [
                {"step": "service", "default": 502},
                {"step": "master", "default": 601},
            ]

        await run_in_session(check)
