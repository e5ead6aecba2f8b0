"""Catalog endpoints: bookform, i18n, privacy policy, companies, book_services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from openbooking.catalog import service
from openbooking.catalog.languages import translation_bytes
from openbooking.deps import DialectDep, SessionDep, require_partner
from openbooking.kit.envelope import ERROR_RESPONSES, JSONResponse, envelope
from openbooking.kit.errors import NotFound
from openbooking.kit.params import IdPath, IdQuery, parse_id_list

router = APIRouter(
    dependencies=[Depends(require_partner)], tags=["catalog"], responses=ERROR_RESPONSES
)

MAX_PAGE_SIZE = 500
ForBooking = Annotated[
    int, Query(ge=0, le=1, description="1 adds `next_slot`, the earliest free start time")
]


@router.get("/bookform/{bookform_id}", summary="Booking form settings")
async def get_bookform(bookform_id: IdPath, session: SessionDep, dialect: DialectDep) -> Response:
    return envelope(await service.bookform(session, bookform_id, dialect))


@router.get("/i18n/{lang_code}", summary="Widget strings (a bare object, no envelope)")
async def get_i18n(lang_code: str) -> Response:
    body = translation_bytes(lang_code)
    if body is None:
        raise NotFound("Language not found.")
    return Response(body, media_type=JSONResponse.media_type)


@router.get("/privacy_policy/{location_id}", summary="A location's privacy policy text")
async def get_privacy_policy(location_id: IdPath, session: SessionDep) -> Response:
    return envelope(await service.privacy_policy(session, location_id))


@router.get("/companies", summary="Locations, optionally of one chain")
async def get_companies(
    session: SessionDep,
    dialect: DialectDep,
    id: IdQuery | None = None,
    group_id: IdQuery | None = None,
    active: Annotated[int, Query(ge=0, le=1)] = 0,
    title: Annotated[str | None, Query(max_length=255)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    count: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    forBooking: ForBooking = 0,  # noqa: N803 - the wire name
) -> Response:
    data = await service.companies(
        session,
        dialect,
        location_id=id,
        chain_id=group_id,
        active_only=bool(active),
        title=title,
        page=page,
        count=count,
        for_booking=bool(forBooking),
    )
    return envelope(data)


@router.get("/company/{location_id}", summary="One location")
async def get_company(
    location_id: IdPath,
    session: SessionDep,
    dialect: DialectDep,
    forBooking: ForBooking = 0,  # noqa: N803 - the wire name
) -> Response:
    data = await service.company(session, location_id, dialect, for_booking=bool(forBooking))
    return envelope(data)


@router.get("/book_services/{location_id}", summary="Bookable services and their categories")
async def get_book_services(
    request: Request,
    location_id: IdPath,
    session: SessionDep,
    staff_id: IdQuery = 0,
    datetime: Annotated[
        str | None, Query(max_length=40, description="YYYY-MM-DDTHH:MM in the location's zone")
    ] = None,
) -> Response:
    service_ids = parse_id_list(request.query_params, "service_ids")
    data = await service.book_services(session, location_id, staff_id, service_ids, datetime)
    return envelope(data)
