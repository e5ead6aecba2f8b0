"""Availability endpoints: book_staff, book_dates, book_times, book_staff_seances."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from openbooking.auth.dependencies import require_partner
from openbooking.availability import render, service
from openbooking.availability.schemas import (
    BookDatesQuery,
    BookStaffQuery,
    BookStaffSeancesQuery,
    BookTimesQuery,
)
from openbooking.deps import DialectDep, SessionDep
from openbooking.kit.envelope import ERROR_RESPONSES, envelope
from openbooking.kit.wire import DayPath, IdPath, query

router = APIRouter(
    dependencies=[Depends(require_partner)], tags=["availability"], responses=ERROR_RESPONSES
)


@router.get("/book_staff/{location_id}", summary="Team members that can be booked")
async def get_book_staff(
    location_id: IdPath,
    session: SessionDep,
    dialect: DialectDep,
    params: Annotated[BookStaffQuery, Depends(query(BookStaffQuery))],
) -> Response:
    show_position, availability, found = await service.book_staff(
        session,
        location_id,
        params.service_ids,
        params.datetime,
        seances=not params.without_seances,
    )
    return envelope(
        [
            render.staff(availability, member, nearest, dialect, show_position=show_position)
            for member, nearest in found
        ]
    )


@router.get("/book_dates/{location_id}", summary="Working and bookable dates")
async def get_book_dates(
    location_id: IdPath,
    session: SessionDep,
    dialect: DialectDep,
    params: Annotated[BookDatesQuery, Depends(query(BookDatesQuery))],
) -> Response:
    working, bookable = await service.book_dates(
        session,
        location_id,
        params.staff_id,
        params.service_ids,
        (params.date, params.date_from, params.date_to),
    )
    return envelope(render.dates(working, bookable, dialect))


@router.get("/book_times/{location_id}/{staff_id}/{date}", summary="Free slots on a date")
async def get_book_times(
    location_id: IdPath,
    staff_id: IdPath,
    date: DayPath,
    session: SessionDep,
    params: Annotated[BookTimesQuery, Depends(query(BookTimesQuery))],
) -> Response:
    return envelope(
        await service.book_times(session, location_id, staff_id, date, params.service_ids)
    )


@router.get(
    "/book_staff_seances/{location_id}/{staff_id}", summary="The nearest day with free slots"
)
async def get_book_staff_seances(
    location_id: IdPath,
    staff_id: IdPath,
    session: SessionDep,
    params: Annotated[BookStaffSeancesQuery, Depends(query(BookStaffSeancesQuery))],
) -> Response:
    return envelope(
        await service.book_staff_seances(
            session, location_id, staff_id, params.service_ids, params.datetime
        )
    )
