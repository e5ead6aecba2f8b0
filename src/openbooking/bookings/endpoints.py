"""book_check, book_record (create, read, reschedule) and the customer's records (read, cancel)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from openbooking.bookings import idempotency, notify, service
from openbooking.bookings.rules import TAKEN, BookingError
from openbooking.deps import DialectDep, PartnerDep, SessionDep, require_partner
from openbooking.kit.auth import parse_authorization
from openbooking.kit.body import read_json, read_object
from openbooking.kit.db import begin_write, lost_race
from openbooking.kit.envelope import ERROR_RESPONSES, JSONResponse, envelope
from openbooking.kit.errors import ApiError, Unauthorized
from openbooking.kit.errors import render as render_error
from openbooking.kit.params import IdPath
from openbooking.models import Customer
from openbooking.verification import service as verification
from openbooking.verification.endpoints import ContextDep, CustomerDep, WriteSessionDep
from openbooking.verification.service import CodeRejected, Context, Throttled

router = APIRouter(
    dependencies=[Depends(require_partner)], tags=["bookings"], responses=ERROR_RESPONSES
)


async def optional_customer(request: Request, session: SessionDep) -> Customer | None:
    """The customer when a `User` token is sent (a bad one is 401), else None."""
    credentials = parse_authorization(request.headers.get("authorization"))
    if credentials is None or credentials.user_token is None:
        return None
    return await verification.authenticate(session, credentials.user_token)


MaybeCustomerDep = Annotated[Customer | None, Depends(optional_customer)]


def _key(request: Request) -> bytes:
    key: bytes = request.app.state.secret_key
    return key


@router.post("/book_check/{location_id}", status_code=201, summary="Check appointments")
async def post_book_check(
    location_id: IdPath, session: SessionDep, body: Annotated[Any, Depends(read_json)]
) -> Response:
    await service.check(session, location_id, body)
    return envelope(None, meta={"message": "Created"}, status_code=201)


@router.post("/book_record/{location_id}", status_code=201, summary="Book appointments")
async def post_book_record(
    request: Request,
    session: SessionDep,
    partner: PartnerDep,
    location_id: IdPath,
    context: ContextDep,
    customer: MaybeCustomerDep,
    body: Annotated[dict[str, Any], Depends(read_object)],
    background: BackgroundTasks,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=idempotency.HEADER,
            description="Retries with the same key get the first answer (kept 24 hours).",
        ),
    ] = None,
) -> Response:
    key = idempotency.parse_key(idempotency_key)
    if key is None:
        return await _book(session, context, location_id, body, customer, background, None)
    request_id = [location_id, customer.id if customer else None, body]
    claim = idempotency.Claim.of(_key(request), partner.id, key, request_id)
    stored = await idempotency.begin(session, claim)
    if stored is not None:
        status_code, content = stored
        return Response(
            content, status_code, {"Idempotent-Replayed": "true"}, JSONResponse.media_type
        )
    try:
        return await _book(session, context, location_id, body, customer, background, claim)
    except ApiError as exc:
        await session.rollback()
        if exc.status_code == Throttled.status_code:  # a retry later should run again
            await idempotency.release(session, claim)
            raise
        answer = render_error(exc)
        await begin_write(session)
        await idempotency.store(session, claim, answer.status_code, bytes(answer.body))
        await session.commit()
        return answer
    except BaseException:
        await session.rollback()
        await idempotency.release(session, claim)
        raise


async def _book(
    session: AsyncSession,
    context: Context,
    location_id: int,
    body: dict[str, Any],
    customer: Customer | None,
    background: BackgroundTasks,
    claim: idempotency.Claim | None,
) -> Response:
    """Book in one write transaction; with a claim, its answer is stored in that transaction."""
    await begin_write(session)
    try:
        created = await service.create(session, context, location_id, body, customer)
        answer = envelope(created.answer, status_code=201)
        if claim is not None:
            await idempotency.store(session, claim, answer.status_code, bytes(answer.body))
        await session.commit()
    except (CodeRejected, Throttled):
        await session.commit()  # the failed attempt counts
        raise
    except DBAPIError as exc:
        # Another booking took the slot between our check and our insert (PostgreSQL's
        # exclusion constraint, or a deadlock with it); SQLite cannot get here, its writers
        # are serial.
        if not lost_race(exc):
            raise
        await session.rollback()
        raise BookingError(TAKEN) from None
    background.add_task(notify.send, context.sender, created.notices)
    return answer


@router.get("/book_record/{location_id}/{record_id}/{record_hash}", summary="One appointment")
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


@router.get("/book_record/{location_id}/{record_id}", summary="One appointment of the customer")
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


@router.put("/book_record/{location_id}/{record_id}", summary="Reschedule an appointment")
async def put_book_record(
    request: Request,
    session: WriteSessionDep,
    location_id: IdPath,
    record_id: IdPath,
    dialect: DialectDep,
    customer: CustomerDep,
    body: Annotated[dict[str, Any], Depends(read_object)],
    background: BackgroundTasks,
) -> Response:
    record = await service.find(
        session, _key(request), record_id, None, customer, location_id=location_id, for_update=True
    )
    try:
        notices = await service.reschedule(session, record, body)
        await session.commit()
    except DBAPIError as exc:
        if not lost_race(exc):
            raise
        await session.rollback()
        raise BookingError(TAKEN) from None
    background.add_task(notify.send, request.app.state.sms, notices)
    return envelope(await service.view(session, record, dialect))


async def _records(
    request: Request,
    session: SessionDep,
    record_id: int,
    record_hash: str | None,
    customer: Customer | None,
    dialect: Any,
) -> Response:
    if record_hash:
        found = [await service.find(session, _key(request), record_id, record_hash, customer)]
    elif customer is not None:
        found = list(await service.customer_records(session, customer))
    else:
        raise Unauthorized
    data = [await service.view(session, record, dialect) for record in found]
    return envelope(data, status_code=201)


@router.get("/user/records/{record_id}/{record_hash}", status_code=201, summary="Appointments")
async def get_user_records(
    request: Request,
    record_id: IdPath,
    record_hash: str,
    session: SessionDep,
    dialect: DialectDep,
    customer: MaybeCustomerDep,
) -> Response:
    return await _records(request, session, record_id, record_hash, customer, dialect)


@router.get("/user/records/{record_id}", status_code=201, summary="The customer's appointments")
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
    session: AsyncSession,
    record_id: int,
    record_hash: str | None,
    customer: Customer | None,
    background: BackgroundTasks,
) -> Response:
    record = await service.find(
        session, _key(request), record_id, record_hash, customer, for_update=True
    )
    notices = await service.cancel(session, record)
    await session.commit()
    background.add_task(notify.send, request.app.state.sms, notices)
    return envelope(None)


@router.delete("/user/records/{record_id}/{record_hash}", summary="Cancel an appointment")
async def delete_user_record(
    request: Request,
    session: WriteSessionDep,
    record_id: IdPath,
    record_hash: str,
    customer: MaybeCustomerDep,
    background: BackgroundTasks,
) -> Response:
    return await _cancel(request, session, record_id, record_hash, customer, background)


@router.delete("/user/records/{record_id}", summary="Cancel an appointment of the customer")
async def delete_own_record(
    request: Request,
    session: WriteSessionDep,
    record_id: IdPath,
    customer: CustomerDep,
    background: BackgroundTasks,
) -> Response:
    return await _cancel(request, session, record_id, None, customer, background)
