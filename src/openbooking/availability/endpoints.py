"""Availability endpoints: book_staff, book_dates, book_times, book_staff_seances."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from openbooking.availability import render, service
from openbooking.catalog import repository as catalog
from openbooking.deps import DialectDep, SessionDep, require_partner
from openbooking.kit.envelope import ERROR_RESPONSES, envelope
from openbooking.kit.params import IdPath, IdQuery, parse_id_list

router = APIRouter(
    dependencies=[Depends(require_partner)], tags=["availability"], responses=ERROR_RESPONSES
)

Moment = Annotated[
    str | None, Query(max_length=40, description="YYYY-MM-DDTHH:MM in the location's zone")
]
Day = Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")]


@router.get("/book_staff/{location_id}", summary="Team members that can be booked")
async def get_book_staff(
    request: Request,
    location_id: IdPath,
    session: SessionDep,
    dialect: DialectDep,
    datetime: Moment = None,
    without_seances: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    service_ids = parse_id_list(request.query_params, "service_ids")
    location, availability, found = await service.book_staff(
        session, location_id, service_ids, datetime, seances=not without_seances
    )
    forms = await catalog.bookforms_of_location(session, location)
    show_position = bool(forms) and forms[0].specialization_display_mode == 1
    return envelope(
        [
            render.staff(availability, member, nearest, dialect, show_position=show_position)
            for member, nearest in found
        ]
    )


@router.get("/book_dates/{location_id}", summary="Working and bookable dates")
async def get_book_dates(
    request: Request,
    location_id: IdPath,
    session: SessionDep,
    dialect: DialectDep,
    staff_id: IdQuery = 0,
    date: Day = None,
    date_from: Day = None,
    date_to: Day = None,
) -> Response:
    service_ids = parse_id_list(request.query_params, "service_ids")
    working, bookable = await service.book_dates(
        session, location_id, staff_id, service_ids, (date, date_from, date_to)
    )
    return envelope(render.dates(working, bookable, dialect))


@router.get("/book_times/{location_id}/{staff_id}/{date}", summary="Free slots on a date")
async def get_book_times(
    request: Request, location_id: IdPath, staff_id: IdPath, date: str, session: SessionDep
) -> Response:
    service_ids = parse_id_list(request.query_params, "service_ids")
    day = service.parse_date(date, "date")
    return envelope(await service.book_times(session, location_id, staff_id, day, service_ids))


@router.get(
    "/book_staff_seances/{location_id}/{staff_id}", summary="The nearest day with free slots"
)
async def get_book_staff_seances(
    request: Request,
    location_id: IdPath,
    staff_id: IdPath,
    session: SessionDep,
    datetime: Moment = None,
) -> Response:
    service_ids = parse_id_list(request.query_params, "service_ids")
    return envelope(
        await service.book_staff_seances(session, location_id, staff_id, service_ids, datetime)
    )
