"""Group events: search, dates, date range, filters, and booking seats."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from openbooking.activities import render, service
from openbooking.activities.schemas import (
    BookBody,
    Booked,
    DatesQuery,
    DatesRangeAnswer,
    FilterQuery,
    FiltersAnswer,
    FiltersQuery,
    SearchAnswer,
    SearchQuery,
)
from openbooking.auth.dependencies import MaybeCustomerDep, require_partner
from openbooking.auth.routes import PartnerRoute
from openbooking.bookings import notify
from openbooking.bookings.rules import (
    ALREADY_BOOKED,
    BAD_CODE,
    BAD_PHONE,
    EVENT_CLOSED,
    MESSAGES,
    NO_NAME,
    NO_PLACES,
)
from openbooking.deps import ContextDep, SessionDep, WriteSessionDep
from openbooking.kit.envelope import BODY_ERRORS, ERROR_RESPONSES, Envelope, envelope, errors
from openbooking.kit.openapi import answers
from openbooking.kit.wire import IdPath, body, query

router = APIRouter(
    dependencies=[Depends(require_partner)],
    tags=["group events"],
    responses=ERROR_RESPONSES,
    route_class=PartnerRoute,
)
UNKNOWN = (404, "Unknown location")
BAD_QUERY = (422, "A malformed or missing parameter (`meta.errors[].field`)")


def _filters(params: FilterQuery) -> service.Filters:
    return service.Filters(params.services, params.staff, params.resource_ids)


@router.get(
    "/activity/{location_id}/search",
    summary="Group-event sessions on some dates",
    responses=answers(200, SearchAnswer) | errors(UNKNOWN, BAD_QUERY),
)
async def get_search(
    location_id: IdPath,
    session: SessionDep,
    params: Annotated[SearchQuery, Depends(query(SearchQuery))],
) -> Response:
    location, listed, total = await service.search(
        session,
        location_id,
        params.from_,
        params.till,
        _filters(params),
        page=params.page,
        count=params.count,
    )
    return envelope([render.activity(item, location) for item in listed], meta={"count": total})


@router.get(
    "/activity/{location_id}/search_dates",
    summary="Dates that have group-event sessions",
    responses=answers(200, Envelope[list[str]]) | errors(UNKNOWN, BAD_QUERY),
)
async def get_search_dates(
    location_id: IdPath,
    session: SessionDep,
    params: Annotated[DatesQuery, Depends(query(DatesQuery))],
) -> Response:
    dates = await service.search_dates(
        session, location_id, params.from_, params.till, _filters(params)
    )
    return envelope(dates)


@router.get(
    "/activity/{location_id}/search_dates_range",
    summary="The first and last dates with group-event sessions",
    responses=answers(200, DatesRangeAnswer) | errors(UNKNOWN, BAD_QUERY),
)
async def get_search_dates_range(
    location_id: IdPath,
    session: SessionDep,
    params: Annotated[FilterQuery, Depends(query(FilterQuery))],
) -> Response:
    found = await service.search_dates_range(session, location_id, _filters(params))
    return envelope(found, meta={})


@router.get(
    "/activity/{location_id}/filters",
    summary="What group-event sessions can be filtered by",
    responses=answers(200, FiltersAnswer) | errors(UNKNOWN, BAD_QUERY),
)
async def get_filters(
    location_id: IdPath,
    session: SessionDep,
    params: Annotated[FiltersQuery, Depends(query(FiltersQuery))],
) -> Response:
    facets = await service.filters(
        session, location_id, params.from_, params.till, _filters(params)
    )
    return envelope([render.facet(item) for item in facets], meta={"count": len(facets)})


def _codes(*codes: int) -> str:
    return "; ".join(f"{code}: {MESSAGES[code]}" for code in codes)


@router.post(
    "/activity/{location_id}/{event_id}/book",
    summary="Book seats in a group-event session",
    responses=answers(200, Envelope[Booked])
    | errors(
        *BODY_ERRORS,
        (401, "Missing or unknown partner token, or an invalid user token"),
        (403, "434: " + MESSAGES[434]),
        (404, "Unknown location or session"),
        (
            422,
            "A malformed parameter (`meta.errors[].field`), or a business code in "
            "`meta.errors[].code`: "
            + _codes(BAD_PHONE, BAD_CODE, NO_NAME, NO_PLACES, EVENT_CLOSED, ALREADY_BOOKED),
        ),
        (429, "Too many wrong codes for this phone; see `Retry-After`"),
        503,
    ),
)
async def post_book(
    location_id: IdPath,
    event_id: IdPath,
    data: Annotated[BookBody, Depends(body(BookBody))],
    session: WriteSessionDep,
    context: ContextDep,
    customer: MaybeCustomerDep,
) -> Response:
    created = await service.book(session, context, location_id, event_id, data, customer=customer)
    return notify.after(envelope(created.answer[0]), context.sender, created.notices)
