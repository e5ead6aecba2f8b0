"""`/master_record_review/{record_token}`: the review form of a visit, and its one review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from openbooking.auth.dependencies import require_partner
from openbooking.auth.routes import PartnerRoute
from openbooking.deps import DialectDep, SessionDep, WriteSessionDep
from openbooking.kit.envelope import BODY_ERRORS, ERROR_RESPONSES, Envelope, envelope, errors
from openbooking.kit.openapi import answers
from openbooking.kit.wire import body
from openbooking.reviews import service
from openbooking.reviews.schemas import ReviewBody, ReviewForm, ReviewFormY, ReviewSubmitted

router = APIRouter(
    dependencies=[Depends(require_partner)],
    tags=["reviews"],
    responses=ERROR_RESPONSES,
    route_class=PartnerRoute,
)
TokenPath = Annotated[
    str,
    Path(
        description="The visit's short token, from the link of the review SMS; "
        "anything else is an unknown link (404)",
        examples=["q3Xv0b-9ZcWm1tLk"],
    ),
]
UNKNOWN = (404, "Unknown or expired review link")


def _key(request: Request) -> bytes:
    key: bytes = request.app.state.secret_key
    return key


@router.get(
    "/master_record_review/{record_token}",
    summary="The review form of a visit",
    responses=answers(200, Envelope[ReviewForm], yclients=Envelope[ReviewFormY]) | errors(UNKNOWN),
)
async def get_master_record_review(
    request: Request, record_token: TokenPath, session: SessionDep, dialect: DialectDep
) -> Response:
    return envelope(await service.form(session, _key(request), record_token, dialect))


@router.post(
    "/master_record_review/{record_token}",
    summary="Review a visit (and record a tip)",
    responses=answers(200, ReviewSubmitted, description="Stored; tips are recorded, not charged")
    | errors(
        *BODY_ERRORS,
        UNKNOWN,
        (409, "409: " + service.ALREADY_REVIEWED),
        (422, "A malformed field (`meta.errors[].field`): `rating` 1-5 is required"),
        503,
    ),
)
async def post_master_record_review(
    request: Request,
    record_token: TokenPath,
    data: Annotated[ReviewBody, Depends(body(ReviewBody))],
    session: WriteSessionDep,
) -> Response:
    charge = await service.submit(session, _key(request), record_token, data)
    return envelope(charge, meta={"message": service.NO_PAYMENT})
