"""book_code, user/auth, booking/auth and the customer's own profile."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from openbooking.auth.dependencies import CustomerDep, UserTokenDep, require_partner
from openbooking.deps import (
    ContextDep,
    DialectDep,
    WorkDep,
    WriteSessionDep,
)
from openbooking.kit.envelope import ERROR_RESPONSES, Dialect, envelope
from openbooking.kit.wire import IdPath, body, query
from openbooking.models import Customer
from openbooking.verification import service
from openbooking.verification.schemas import (
    BookCodeBody,
    BookingAuthBody,
    PasswordBody,
    PhoneConfirmationQuery,
    UserAuthBody,
    UserUpdateBody,
)

router = APIRouter(
    dependencies=[Depends(require_partner)], tags=["verification"], responses=ERROR_RESPONSES
)


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


@router.post("/book_code/{location_id}", status_code=201, summary="Send an SMS code to a phone")
async def post_book_code(
    location_id: IdPath,
    data: Annotated[BookCodeBody, Depends(body(BookCodeBody))],
    work: WorkDep,
    context: ContextDep,
) -> Response:
    await service.send_booking_code(work, context, location_id, data)
    return envelope(None, meta={"message": "Created"}, status_code=201)


@router.post("/user/auth", status_code=201, summary="Log in with phone and SMS code")
async def post_user_auth(
    data: Annotated[UserAuthBody, Depends(body(UserAuthBody))],
    session: WriteSessionDep,
    context: ContextDep,
) -> Response:
    token = await service.login_with_code(session, context, data)
    return envelope({"user_token": token}, status_code=201)


@router.post("/booking/auth", status_code=201, summary="Log in with login and password")
async def post_booking_auth(
    data: Annotated[BookingAuthBody, Depends(body(BookingAuthBody))],
    work: WorkDep,
    context: ContextDep,
    dialect: DialectDep,
) -> Response:
    customer, token = await service.login_with_password(work, context, data.login, data.password)
    return envelope(profile(customer, token, dialect), status_code=201)


@router.get("/booking/user/data", summary="The logged-in customer's profile")
async def get_user_data(
    customer: CustomerDep, dialect: DialectDep, token: UserTokenDep
) -> Response:
    return envelope({"0": token, **profile(customer, token, dialect)})


@router.put("/booking/user", status_code=202, summary="Change name, e-mail or phone")
async def put_user(
    data: Annotated[UserUpdateBody, Depends(body(UserUpdateBody))],
    session: WriteSessionDep,
    context: ContextDep,
    customer: CustomerDep,
    token: UserTokenDep,
) -> Response:
    await service.update_profile(session, context, customer, token, data)
    return envelope(None, meta={"message": "Accepted"}, status_code=202)


@router.put("/booking/user/password", summary="Set or change the password; returns a new token")
async def put_password(
    data: Annotated[PasswordBody, Depends(body(PasswordBody))],
    work: WorkDep,
    context: ContextDep,
    customer: CustomerDep,
) -> Response:
    return envelope({"user_token": await service.change_password(work, context, customer, data)})


@router.get(
    "/booking/user/phone_confirmation", status_code=202, summary="Send a code to a new phone"
)
async def get_phone_confirmation(
    params: Annotated[PhoneConfirmationQuery, Depends(query(PhoneConfirmationQuery))],
    work: WorkDep,
    context: ContextDep,
    customer: CustomerDep,
) -> Response:
    await service.phone_change_code(
        work,
        context,
        customer,
        params.phone,
        location_id=params.company_id,
        chain_id=params.group_id,
    )
    return envelope(None, meta={"message": "Accepted"}, status_code=202)
