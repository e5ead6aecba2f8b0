"""Catalog endpoints: bookform, i18n, privacy policy, companies, book_services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from openbooking.auth.dependencies import CredentialsDep, business_user_of, require_partner
from openbooking.auth.routes import PartnerRoute
from openbooking.availability import service as availability
from openbooking.catalog import service
from openbooking.catalog.languages import translation_bytes
from openbooking.catalog.schemas import (
    Bookform,
    BookformY,
    BookServices,
    BookServicesQuery,
    CompaniesQuery,
    CompanyQuery,
    Location,
    LocationSummary,
    LocationSummaryY,
    LocationY,
    PrivacyPolicy,
    Translations,
)
from openbooking.deps import DialectDep, SessionDep
from openbooking.kit.envelope import ERROR_RESPONSES, Envelope, JSONResponse, envelope, errors
from openbooking.kit.errors import NotFound
from openbooking.kit.openapi import answers
from openbooking.kit.wire import IdPath, query

router = APIRouter(
    dependencies=[Depends(require_partner)],
    tags=["catalog"],
    responses=ERROR_RESPONSES,
    route_class=PartnerRoute,
)


@router.get(
    "/bookform/{bookform_id}",
    summary="Booking form settings",
    responses=answers(200, Envelope[Bookform], yclients=Envelope[BookformY])
    | errors((404, "Unknown booking form"), 422),
)
async def get_bookform(bookform_id: IdPath, session: SessionDep, dialect: DialectDep) -> Response:
    return envelope(await service.bookform(session, bookform_id, dialect))


@router.get(
    "/i18n/{lang_code}",
    summary="Widget strings (a bare object, no envelope)",
    responses=answers(200, Translations) | errors((404, "No strings in this language")),
)
async def get_i18n(lang_code: str) -> Response:
    body = translation_bytes(lang_code)
    if body is None:
        raise NotFound("Language not found.")
    return Response(body, media_type=JSONResponse.media_type)


@router.get(
    "/privacy_policy/{location_id}",
    summary="A location's privacy policy text",
    responses=answers(200, Envelope[PrivacyPolicy]) | errors((404, "Unknown location"), 422),
)
async def get_privacy_policy(location_id: IdPath, session: SessionDep) -> Response:
    return envelope(await service.privacy_policy(session, location_id))


@router.get(
    "/companies",
    summary="Locations, optionally of one chain",
    responses=answers(
        200, Envelope[list[LocationSummary]], yclients=Envelope[list[LocationSummaryY]]
    )
    | errors(
        (401, "Missing or unknown partner token; with `my=1`, no valid business user token"),
        422,
    ),
)
async def get_companies(
    session: SessionDep,
    dialect: DialectDep,
    params: Annotated[CompaniesQuery, Depends(query(CompaniesQuery))],
    credentials: CredentialsDep,
) -> Response:
    if params.my:  # the business side (docs/business-api.md); a public call never gets here
        user = await business_user_of(session, credentials)
        only = sorted(user.location_ids)
        return envelope(await availability.companies(session, dialect, params, only))
    return envelope(await availability.companies(session, dialect, params))


@router.get(
    "/company/{location_id}",
    summary="One location",
    responses=answers(200, Envelope[Location], yclients=Envelope[LocationY])
    | errors((404, "Unknown location"), 422),
)
async def get_company(
    location_id: IdPath,
    session: SessionDep,
    dialect: DialectDep,
    params: Annotated[CompanyQuery, Depends(query(CompanyQuery))],
) -> Response:
    return envelope(
        await availability.company(session, location_id, dialect, for_booking=params.forBooking)
    )


@router.get(
    "/book_services/{location_id}",
    summary="Bookable services and their categories",
    responses=answers(200, Envelope[BookServices])
    | errors((404, "Unknown location or team member"), 422),
)
async def get_book_services(
    location_id: IdPath,
    session: SessionDep,
    params: Annotated[BookServicesQuery, Depends(query(BookServicesQuery))],
) -> Response:
    return envelope(await availability.book_services(session, location_id, params))
