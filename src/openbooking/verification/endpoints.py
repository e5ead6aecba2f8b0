"""book_code, user/auth, booking/auth and the customer's own profile."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from openbooking.auth.dependencies import CustomerDep, UserTokenDep, require_partner
from openbooking.auth.routes import PartnerRoute
from openbooking.deps import (
    ContextDep,
    DialectDep,
    WorkDep,
    WriteSessionDep,
)
from openbooking.kit.envelope import (
    BODY_ERRORS,
    ERROR_RESPONSES,
    Dialect,
    Envelope,
    Notice,
    envelope,
    errors,
)
from openbooking.kit.openapi import answers
from openbooking.kit.wire import IdPath, body, query
from openbooking.models import Customer
from openbooking.verification import service
from openbooking.verification.schemas import (
    BookCodeBody,
    BookingAuthBody,
    PasswordBody,
    PhoneConfirmationQuery,
    PhoneValidity,
    Profile,
    ProfileData,
    UserAuthBody,
    UserToken,
    UserUpdateBody,
)

router = APIRouter(
    dependencies=[Depends(require_partner)],
    tags=["verification"],
    responses=ERROR_RESPONSES,
    route_class=PartnerRoute,
)
CUSTOMER = (401, "Missing or unknown partner token, or no valid user token")
CODE_REJECTED = "432: the code is wrong, expired, used or exhausted (`meta.errors[].code`)"
SMS_FAILED = (503, "The SMS could not be sent, or the server is busy; see `Retry-After`")


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


@router.post(
    "/book_code/{location_id}",
    status_code=201,
    summary="Send an SMS code to a phone",
    responses=answers(201, Notice, description="Created (the same for every phone)")
    | errors(
        *BODY_ERRORS,
        (404, "Unknown location"),
        (422, "Malformed or unreachable `phone`, or another malformed parameter"),
        (429, "Too many codes for this phone, number block or address; see `Retry-After`"),
        SMS_FAILED,
    ),
)
async def post_book_code(
    location_id: IdPath,
    data: Annotated[BookCodeBody, Depends(body(BookCodeBody))],
    work: WorkDep,
    context: ContextDep,
) -> Response:
    await service.send_booking_code(work, context, location_id, data)
    return envelope(None, meta={"message": "Created"}, status_code=201)


@router.post(
    "/user/auth",
    status_code=201,
    summary="Log in with phone and SMS code",
    responses=answers(201, Envelope[UserToken])
    | errors(
        *BODY_ERRORS,
        (422, f"Malformed `phone` or `code`; {CODE_REJECTED}"),
        (429, "Too many wrong codes for this phone; see `Retry-After`"),
        503,
    ),
)
async def post_user_auth(
    data: Annotated[UserAuthBody, Depends(body(UserAuthBody))],
    session: WriteSessionDep,
    context: ContextDep,
) -> Response:
    token = await service.login_with_code(session, context, data)
    return envelope({"user_token": token}, status_code=201)


@router.post(
    "/booking/auth",
    status_code=201,
    summary="Log in with login and password",
    responses=answers(201, Envelope[Profile])
    | errors(
        *BODY_ERRORS,
        (401, "Missing or unknown partner token, or no customer with this login and password"),
        (422, "`login` or `password` missing"),
        (429, "Too many failed logins for this login from this address; see `Retry-After`"),
        503,
    ),
)
async def post_booking_auth(
    data: Annotated[BookingAuthBody, Depends(body(BookingAuthBody))],
    work: WorkDep,
    context: ContextDep,
    dialect: DialectDep,
) -> Response:
    customer, token = await service.login_with_password(work, context, data.login, data.password)
    return envelope(profile(customer, token, dialect), status_code=201)


@router.get(
    "/booking/user/data",
    summary="The logged-in customer's profile",
    responses=answers(200, Envelope[ProfileData]) | errors(CUSTOMER),
)
async def get_user_data(
    customer: CustomerDep, dialect: DialectDep, token: UserTokenDep
) -> Response:
    return envelope({"0": token, **profile(customer, token, dialect)})


@router.put(
    "/booking/user",
    status_code=202,
    summary="Change name, e-mail or phone",
    responses=answers(202, Notice, description="Accepted")
    | errors(
        *BODY_ERRORS,
        CUSTOMER,
        (422, f"Malformed or taken `email` or `phone`; {CODE_REJECTED}"),
        (429, "Too many wrong codes for this phone; see `Retry-After`"),
        503,
    ),
)
async def put_user(
    data: Annotated[UserUpdateBody, Depends(body(UserUpdateBody))],
    session: WriteSessionDep,
    context: ContextDep,
    customer: CustomerDep,
    token: UserTokenDep,
) -> Response:
    await service.update_profile(session, context, customer, token, data)
    return envelope(None, meta={"message": "Accepted"}, status_code=202)


@router.put(
    "/booking/user/password",
    summary="Set or change the password; returns a new token",
    responses=answers(200, Envelope[UserToken])
    | errors(
        *BODY_ERRORS,
        CUSTOMER,
        (422, "`new_password` missing or too easy to guess, or `old_password` wrong"),
        503,
    ),
)
async def put_password(
    data: Annotated[PasswordBody, Depends(body(PasswordBody))],
    work: WorkDep,
    context: ContextDep,
    customer: CustomerDep,
) -> Response:
    return envelope({"user_token": await service.change_password(work, context, customer, data)})


@router.get(
    "/booking/user/phone_confirmation",
    status_code=202,
    summary="Send a code to a new phone",
    responses=answers(202, Notice, description="Accepted")
    | errors(
        CUSTOMER,
        (404, "Unknown location or chain"),
        (422, "Malformed `phone`, or neither (or both) of `company_id` and `group_id`"),
        (429, "Too many codes for this phone, number block or address; see `Retry-After`"),
        SMS_FAILED,
    ),
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


@router.get(
    "/validation/validate_phone/{phone}",
    summary="Check a phone number's format",
    responses=answers(200, Envelope[PhoneValidity]),
)
async def get_validate_phone(
    phone: Annotated[
        str, Path(description="`+4915112345678` or `4915112345678` (international form)")
    ],
    dialect: DialectDep,
) -> Response:
    found = service.valid_phone(phone)
    return envelope(
        {"is_valid": found is not None, "phone": phone_view(found, dialect) if found else None}
    )
