"""Availability endpoints: book_staff, book_dates, book_times, book_staff_seances."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from openbooking.auth.dependencies import require_partner
from openbooking.auth.routes import PartnerRoute
from openbooking.availability import render, service
from openbooking.availability.schemas import (
    BookDates,
    BookDatesQuery,
    BookDatesY,
    BookStaffQuery,
    BookStaffSeancesQuery,
    BookTimesQuery,
    Slot,
    StaffMember,
    StaffMemberY,
    StaffSeances,
    TimeslotsEnvelope,
)
from openbooking.deps import DialectDep, SessionDep
from openbooking.kit.envelope import ERROR_RESPONSES, Envelope, envelope, errors
from openbooking.kit.openapi import answers
from openbooking.kit.wire import DayPath, IdPath, query

router = APIRouter(
    dependencies=[Depends(require_partner)],
    tags=["availability"],
    responses=ERROR_RESPONSES,
    route_class=PartnerRoute,
)
NOT_FOUND = errors((404, "Unknown location or team member"), 422)


@router.get(
    "/book_staff/{location_id}",
    summary="Team members that can be booked",
    responses=answers(200, Envelope[list[StaffMember]], yclients=Envelope[list[StaffMemberY]])
    | errors((404, "Unknown location"), 422),
)
async def get_book_staff(
    location_id: IdPath,
    session: SessionDep,
    dialect: DialectDep,
    params: Annotated[BookStaffQuery, Depends(query(BookStaffQuery))],
) -> Response:
    show_position, availability, found, ratings = await service.book_staff(
        session,
        location_id,
        params.service_ids,
        params.datetime,
        seances=not params.without_seances,
    )
    return envelope(
        [
            render.staff(
                availability,
                member,
                nearest,
                dialect,
                show_position=show_position,
                reviewed=ratings.get(member.staff.id),
            )
            for member, nearest in found
        ]
    )


@router.get(
    "/book_dates/{location_id}",
    summary="Working and bookable dates",
    responses=answers(200, Envelope[BookDates], yclients=Envelope[BookDatesY]) | NOT_FOUND,
)
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


@router.get(
    "/book_times/{location_id}/{staff_id}/{date}",
    summary="Free slots on a date",
    responses=answers(200, Envelope[list[Slot]]) | NOT_FOUND,
)
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
    "/book_staff_seances/{location_id}/{staff_id}",
    summary="The nearest day with free slots",
    responses=answers(200, Envelope[StaffSeances]) | NOT_FOUND,
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


@router.get(
    "/company/{location_id}/settings/timeslots",
    summary="The location's grid of start times",
    responses=answers(200, TimeslotsEnvelope) | errors((404, "Unknown location"), 422),
)
async def get_timeslots(location_id: IdPath, session: SessionDep) -> Response:
    location, grid = await service.timeslots(session, location_id)
    return envelope(render.timeslots(location, grid), meta={})
