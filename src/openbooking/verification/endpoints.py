"""book_code, user/auth, booking/auth and the customer's own profile."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from openbooking.deps import DialectDep, SessionDep, SettingsDep, require_partner
from openbooking.kit.auth import client_address, parse_authorization
from openbooking.kit.body import read_object, text
from openbooking.kit.db import begin_write
from openbooking.kit.envelope import ERROR_RESPONSES, Dialect, envelope
from openbooking.kit.errors import InvalidParameter, Unauthorized
from openbooking.kit.params import IdPath, IdQuery
from openbooking.models import Customer
from openbooking.verification import service
from openbooking.verification.service import Context, PendingSms

router = APIRouter(
    dependencies=[Depends(require_partner)], tags=["verification"], responses=ERROR_RESPONSES
)


def get_context(request: Request, settings: SettingsDep) -> Context:
    peer = request.client.host if request.client else None
    return Context(
        settings=settings,
        key=request.app.state.secret_key,
        limiter=request.app.state.limiter,
        sender=request.app.state.sms,
        client=client_address(
            peer, request.headers.get("x-forwarded-for"), settings.trusted_proxies
        ),
    )


ContextDep = Annotated[Context, Depends(get_context)]
BodyDep = Annotated[dict[str, Any], Depends(read_object)]


def user_token(request: Request) -> str:
    credentials = parse_authorization(request.headers.get("authorization"))
    if credentials is None or credentials.user_token is None:
        raise Unauthorized
    return credentials.user_token


async def current_customer(
    session: SessionDep, token: Annotated[str, Depends(user_token)]
) -> Customer:
    return await service.authenticate(session, token)


CustomerDep = Annotated[Customer, Depends(current_customer)]


def phone_view(phone: str, dialect: Dialect) -> str:
    """Altegio writes E.164 with the plus, YCLIENTS digits only."""
    return phone.lstrip("+") if dialect is Dialect.YCLIENTS else phone


def profile(customer: Customer, token: str, dialect: Dialect) -> dict[str, Any]:
    phone = phone_view(customer.phone, dialect)
    return {
        "id": customer.id,
        "user_token": token,
        "name": customer.name,
        "phone": phone,
        "login": phone,
        "email": customer.email or "",
        "avatar": "",
    }


async def write_session(session: SessionDep) -> AsyncSession:
    """The request's session, its transaction begun as a writer (before any read)."""
    await begin_write(session)
    return session


WriteSessionDep = Annotated[AsyncSession, Depends(write_session)]


async def _send(
    session: AsyncSession, context: Context, prepare: Callable[[], Awaitable[PendingSms]]
) -> None:
    """Store the code and commit, then talk to the gateway outside any lock."""
    pending = await prepare()
    await session.commit()
    try:
        await service.deliver(session, context, pending)
    finally:
        await session.commit()


@router.post("/book_code/{location_id}", status_code=201, summary="Send an SMS code to a phone")
async def post_book_code(
    session: WriteSessionDep, location_id: IdPath, context: ContextDep, body: BodyDep
) -> Response:
    text(body, "fullname", max_length=255)
    text(body, "fulname", max_length=255)
    await _send(
        session, context, lambda: service.send_booking_code(session, context, location_id, body)
    )
    return envelope(None, meta={"message": "Created"}, status_code=201)


@router.post("/user/auth", status_code=201, summary="Log in with phone and SMS code")
async def post_user_auth(session: WriteSessionDep, context: ContextDep, body: BodyDep) -> Response:
    try:
        token = await service.login_with_code(session, context, body)
    finally:
        await session.commit()  # failed attempts count even when the answer is an error
    return envelope({"user_token": token}, status_code=201)


@router.post("/booking/auth", status_code=201, summary="Log in with login and password")
async def post_booking_auth(
    session: SessionDep, context: ContextDep, dialect: DialectDep, body: BodyDep
) -> Response:
    login = text(body, "login", max_length=254, required=True)
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise InvalidParameter("password", "is required")
    assert login is not None
    customer, token = await service.login_with_password(session, context, login, password)
    await session.commit()
    return envelope(profile(customer, token, dialect), status_code=201)


@router.get("/booking/user/data", summary="The logged-in customer's profile")
async def get_user_data(
    customer: CustomerDep, dialect: DialectDep, token: Annotated[str, Depends(user_token)]
) -> Response:
    return envelope({"0": token, **profile(customer, token, dialect)})


@router.put("/booking/user", status_code=202, summary="Change name, e-mail or phone")
async def put_user(
    session: WriteSessionDep,
    context: ContextDep,
    customer: CustomerDep,
    token: Annotated[str, Depends(user_token)],
    body: BodyDep,
) -> Response:
    try:
        await service.update_profile(session, context, customer, token, body)
    finally:
        await session.commit()
    return envelope(None, meta={"message": "Accepted"}, status_code=202)


@router.put("/booking/user/password", summary="Set or change the password; returns a new token")
async def put_password(
    session: SessionDep, settings: SettingsDep, customer: CustomerDep, body: BodyDep
) -> Response:
    token = await service.change_password(session, settings, customer, body)
    await session.commit()
    return envelope({"user_token": token})


@router.get(
    "/booking/user/phone_confirmation", status_code=202, summary="Send a code to a new phone"
)
async def get_phone_confirmation(
    session: WriteSessionDep,
    context: ContextDep,
    customer: CustomerDep,
    phone: Annotated[str, Query(max_length=32)],
    company_id: IdQuery | None = None,
    group_id: IdQuery | None = None,
) -> Response:
    await _send(
        session,
        context,
        lambda: service.phone_change_code(
            session, context, customer, phone, location_id=company_id, chain_id=group_id
        ),
    )
    return envelope(None, meta={"message": "Accepted"}, status_code=202)
