"""book_check, book_record (create, read, reschedule) and the customer's records (read, cancel)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from starlette.responses import Response

from openbooking.auth.cache import Partner
from openbooking.auth.dependencies import (
    CustomerDep,
    MaybeCustomerDep,
    credentials_of,
    optional_customer,
    require_partner,
)
from openbooking.auth.routes import PartnerRoute
from openbooking.bookings import idempotency, notify, service
from openbooking.bookings.rules import (
    BAD_CODE,
    BAD_PHONE,
    MESSAGES,
    NO_NAME,
    NO_SERVICES,
    NOBODY_FREE,
    NOT_BOOKABLE,
    OVERLAP,
    TAKEN,
)
from openbooking.bookings.schemas import (
    Booked,
    BookedRecord,
    BookedRecordY,
    BookRecordBody,
    Cancelled,
    CheckBody,
    RescheduleBody,
)
from openbooking.deps import (
    ContextDep,
    DialectDep,
    SessionDep,
    WorkDep,
    WriteSessionDep,
    get_context,
)
from openbooking.kit.body import read_json
from openbooking.kit.db import UnitOfWork
from openbooking.kit.envelope import (
    BODY_ERRORS,
    ERROR_RESPONSES,
    Dialect,
    Envelope,
    Notice,
    envelope,
    errors,
)
from openbooking.kit.errors import Unauthorized
from openbooking.kit.openapi import answers
from openbooking.kit.wire import IdPath, body, parse_body
from openbooking.models import Customer
from openbooking.verification.service import Context

router = APIRouter(
    dependencies=[Depends(require_partner)],
    tags=["bookings"],
    responses=ERROR_RESPONSES,
    route_class=PartnerRoute,
)


def _codes(*codes: int) -> str:
    return "; ".join(f"{code}: {MESSAGES[code]}" for code in codes)


REFUSED = (
    "A malformed parameter (`meta.errors[].field`), or a business code in `meta.errors[].code`"
    " naming the appointment in `id` (repeated in the top-level `errors`): "
)
CHECK_REFUSED = (422, REFUSED + _codes(NO_SERVICES, TAKEN, NOBODY_FREE, OVERLAP, NOT_BOOKABLE))
RECORD = answers(200, Envelope[BookedRecord], yclients=Envelope[BookedRecordY])
RECORDS = answers(201, Envelope[list[BookedRecord]], yclients=Envelope[list[BookedRecordY]])
NO_RECORD = (404, "No such appointment (or hash), or not the customer's")
CUSTOMER = (401, "Missing or unknown partner token, or no valid user token")
MAYBE_CUSTOMER = (401, "Missing or unknown partner token, or an invalid user token")
CHANGE_REFUSED = (403, "The location does not allow it online (or not this close to the visit)")


def _key(request: Request) -> bytes:
    key: bytes = request.app.state.secret_key
    return key


@router.post(
    "/book_check/{location_id}",
    status_code=201,
    summary="Check appointments",
    responses=answers(201, Notice, description="Created: every appointment can be booked")
    | errors(*BODY_ERRORS, (404, "Unknown location"), CHECK_REFUSED),
)
async def post_book_check(
    location_id: IdPath,
    data: Annotated[CheckBody, Depends(body(CheckBody))],
    session: SessionDep,
) -> Response:
    await service.check(session, location_id, data)
    return envelope(None, meta={"message": "Created"}, status_code=201)


@dataclass(slots=True)
class _BookRecord:
    """What `post_book_record` takes from the request besides its path and header."""

    data: BookRecordBody
    raw: Any  # the body as parsed JSON, for the Idempotency-Key's fingerprint
    work: UnitOfWork
    partner: Partner
    context: Context
    customer: Customer | None


async def _book_record(request: Request, work: WorkDep) -> _BookRecord:
    """The body (parsed once), the partner, the context and the customer, in the order their
    own dependencies answered before (body errors, then a bad user token), as one node:
    each dependency node costs every request a round of FastAPI's dependency solving, and
    this endpoint had nine."""
    raw = await read_json(request)
    data = parse_body(BookRecordBody, raw)
    partner = await require_partner(request)  # checked by the route class: from the scope
    context = await get_context(request)
    customer = await optional_customer(work.session, credentials_of(request))
    return _BookRecord(data, raw, work, partner, context, customer)


_book_record.wire_body = BookRecordBody  # type: ignore[attr-defined]  # read by kit.openapi


@router.post(
    "/book_record/{location_id}",
    status_code=201,
    summary="Book appointments",
    responses=answers(201, Envelope[list[Booked]])
    | errors(
        (400, "The body is not valid JSON, or a malformed `Idempotency-Key`"),
        MAYBE_CUSTOMER,
        (403, "434: " + MESSAGES[434]),
        (404, "Unknown location"),
        (409, "A request with this `Idempotency-Key` is still being processed"),
        413,
        415,
        (
            422,
            REFUSED
            + _codes(
                NO_SERVICES,
                BAD_PHONE,
                BAD_CODE,
                TAKEN,
                NO_NAME,
                NOBODY_FREE,
                OVERLAP,
                NOT_BOOKABLE,
            )
            + "; or this `Idempotency-Key` was used with another request",
        ),
        (429, "Too many wrong codes for this phone; see `Retry-After`"),
        503,
    ),
)
async def post_book_record(
    request: Request,
    location_id: IdPath,
    given: Annotated[_BookRecord, Depends(_book_record)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=idempotency.HEADER,
            description="Retries with the same key get the first answer (kept 24 hours).",
        ),
    ] = None,
) -> Response:
    data, context, customer = given.data, given.context, given.customer
    claim = idempotency.claim(
        _key(request),
        given.partner.id,
        idempotency_key,
        [location_id, customer.id if customer else None, given.raw],
    )
    answer, notices = await idempotency.run(
        given.work,
        claim,
        lambda work, keep: service.create(work, context, location_id, data, customer, keep=keep),
    )
    return notify.after(answer, context.sender, notices)


@router.get(
    "/book_record/{location_id}/{record_id}/{record_hash}",
    summary="One appointment",
    responses=RECORD | errors(MAYBE_CUSTOMER, NO_RECORD, 422),
)
async def get_book_record(
    request: Request,
    location_id: IdPath,
    record_id: IdPath,
    record_hash: str,
    session: SessionDep,
    dialect: DialectDep,
    customer: MaybeCustomerDep,
) -> Response:
    record = await service.find(
        session, _key(request), record_id, record_hash, customer, location_id=location_id
    )
    return envelope(await service.view(session, record, dialect))


@router.get(
    "/book_record/{location_id}/{record_id}",
    summary="One appointment of the customer",
    responses=RECORD | errors(CUSTOMER, NO_RECORD, 422),
)
async def get_own_book_record(
    request: Request,
    location_id: IdPath,
    record_id: IdPath,
    session: SessionDep,
    dialect: DialectDep,
    customer: CustomerDep,
) -> Response:
    record = await service.find(
        session, _key(request), record_id, None, customer, location_id=location_id
    )
    return envelope(await service.view(session, record, dialect))


@router.put(
    "/book_record/{location_id}/{record_id}",
    summary="Reschedule an appointment",
    responses=RECORD
    | errors(
        *BODY_ERRORS,
        CUSTOMER,
        (403, "Cancelled, or the location does not allow it (or not this close to the visit)"),
        NO_RECORD,
        (422, REFUSED + _codes(TAKEN, NOBODY_FREE, NOT_BOOKABLE)),
        503,
    ),
)
async def put_book_record(
    request: Request,
    location_id: IdPath,
    record_id: IdPath,
    data: Annotated[RescheduleBody, Depends(body(RescheduleBody))],
    session: WriteSessionDep,
    dialect: DialectDep,
    customer: CustomerDep,
    context: ContextDep,
) -> Response:
    record = await service.find(
        session, _key(request), record_id, None, customer, location_id=location_id, for_update=True
    )
    notices = await service.reschedule(session, record, data)
    answer = envelope(await service.view(session, record, dialect))
    return notify.after(answer, context.sender, notices)


async def _records(
    request: Request,
    session: SessionDep,
    record_id: int,
    record_hash: str | None,
    customer: Customer | None,
    dialect: Dialect,
) -> Response:
    if record_hash:
        found = [await service.find(session, _key(request), record_id, record_hash, customer)]
    elif customer is not None:
        found = list(await service.customer_records(session, customer))
    else:
        raise Unauthorized
    data = [await service.view(session, record, dialect) for record in found]
    return envelope(data, status_code=201)


@router.get(
    "/user/records/{record_id}/{record_hash}",
    status_code=201,
    summary="Appointments",
    responses=RECORDS | errors(MAYBE_CUSTOMER, NO_RECORD, 422),
)
async def get_user_records(
    request: Request,
    record_id: IdPath,
    record_hash: str,
    session: SessionDep,
    dialect: DialectDep,
    customer: MaybeCustomerDep,
) -> Response:
    return await _records(request, session, record_id, record_hash, customer, dialect)


@router.get(
    "/user/records/{record_id}",
    status_code=201,
    summary="The customer's appointments",
    responses=RECORDS | errors(CUSTOMER, 422),
)
async def get_user_records_by_token(
    request: Request,
    record_id: IdPath,
    session: SessionDep,
    dialect: DialectDep,
    customer: CustomerDep,
) -> Response:
    return await _records(request, session, record_id, None, customer, dialect)


async def _cancel(
    request: Request,
    session: SessionDep,
    record_id: int,
    record_hash: str | None,
    customer: Customer | None,
) -> Response:
    record = await service.find(
        session, _key(request), record_id, record_hash, customer, for_update=True
    )
    notices = await service.cancel(session, record)
    return notify.after(envelope(None), request.app.state.sms, notices)


@router.delete(
    "/user/records/{record_id}/{record_hash}",
    summary="Cancel an appointment",
    responses=answers(200, Cancelled, description="Cancelled (or already cancelled)")
    | errors(MAYBE_CUSTOMER, CHANGE_REFUSED, NO_RECORD, 422, 503),
)
async def delete_user_record(
    request: Request,
    record_id: IdPath,
    record_hash: str,
    session: WriteSessionDep,
    customer: MaybeCustomerDep,
) -> Response:
    return await _cancel(request, session, record_id, record_hash, customer)


@router.delete(
    "/user/records/{record_id}",
    summary="Cancel an appointment of the customer",
    responses=answers(200, Cancelled, description="Cancelled (or already cancelled)")
    | errors(CUSTOMER, CHANGE_REFUSED, NO_RECORD, 422, 503),
)
async def delete_own_record(
    request: Request,
    record_id: IdPath,
    session: WriteSessionDep,
    customer: CustomerDep,
) -> Response:
    return await _cancel(request, session, record_id, None, customer)
