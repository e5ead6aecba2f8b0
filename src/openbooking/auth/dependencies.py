"""Who is calling, as FastAPI dependencies.

Every request carries `Authorization: Bearer <partner token>`, optionally followed by
`, User <user token>` for a customer. The partner is checked in a short session of its own (or
found in the process's `PartnerCache`), so no database connection is held while the rest of the
request (its body) arrives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase

from openbooking.auth.cache import Partner, PartnerCache
from openbooking.backoffice import accounts
from openbooking.backoffice.accounts import Principal
from openbooking.deps import SessionDep, client_of
from openbooking.kit.auth import (
    Credentials,
    parse_authorization,
    token_digest,
)
from openbooking.kit.errors import Unauthorized
from openbooking.kit.headers import header
from openbooking.models import Customer
from openbooking.partners import service as partners
from openbooking.verification import service as verification
from openbooking.verification.service import Throttled
from openbooking.widget import service as widget

API_PREFIX = "/api/v1"
AUTH = b"authorization"
# Where `auth.routes.PartnerRoute` leaves the partner it checked before dependency solving.
PARTNER_KEY = "openbooking.partner"

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


class PartnerBearer(SecurityBase):
    """The partner check, as one FastAPI dependency with no dependencies of its own: each node
    of a dependency tree costs every request a round of FastAPI's dependency solving, solved
    again wherever the tree repeats it (its value is cached, the solving is not), and this one
    guards every API route. It is documented in the OpenAPI document as the HTTP bearer scheme
    `partner` (Swagger UI's Authorize: enter the partner token, or `<partner token>, User
    <user token>`); the header itself is parsed by `kit.auth.parse_authorization`."""

    def __init__(self) -> None:
        self.model = HTTPBearerModel(
            description="The partner token; for a customer's calls "
            "`<partner token>, User <user token>`."
        )
        self.scheme_name = "partner"

    async def __call__(self, request: Request) -> Partner:
        checked: Partner | None = request.scope.get(PARTNER_KEY)
        if checked is not None:  # by the route class, for this request
            return checked
        credentials = credentials_of(request)
        if widget.is_public_key(credentials.partner_token):
            return await _widget_partner(request, credentials.partner_token)

        async def load() -> Partner | None:
            async with request.app.state.sessionmaker() as session:
                row = await partners.find_active(session, credentials.partner_token)
            return None if row is None else Partner(row.id, row.name)

        cache: PartnerCache = request.app.state.partners
        partner = await cache.get(token_digest(credentials.partner_token), load)
        if partner is None:
            raise Unauthorized
        return partner


def credentials_of(request: Request) -> Credentials:
    """The request's `Authorization` header, parsed; 401 when it is missing or malformed.
    Read from the ASGI headers directly (the first one, as `request.headers.get` would):
    every API request passes here, and building the `Headers` object costs more than this."""
    credentials = parse_authorization(header(request.scope, AUTH))
    if credentials is None:
        raise Unauthorized
    return credentials


async def get_credentials(request: Request) -> Credentials:
    return credentials_of(request)


CredentialsDep = Annotated[Credentials, Depends(get_credentials)]

# Every API router depends on it (`APIRouter(dependencies=[Depends(require_partner)])`), and an
# endpoint that needs the partner asks for it again (`PartnerDep`, the same call: cached).
require_partner = PartnerBearer()


async def _widget_partner(request: Request, key: str) -> Partner:
    """A booking form's public key stands in for a partner token, for the widget's own calls
    (`widget.service.WIDGET_CALLS`) on the form's locations, within a per-address budget."""

    async def load() -> Partner | None:
        async with request.app.state.sessionmaker() as session:
            scope = await widget.scope_of(session, request.app.state.secret_key, key)
        return None if scope is None else Partner(0, f"bookform {scope.bookform_id}", scope)

    # Every call with a public key counts, refused ones too.
    settings = request.app.state.settings
    client = client_of(request, settings)
    verdict = await request.app.state.limiter.hit(
        f"{settings.widget_requests_per_ip_minute}/minute", "widget", client
    )
    if not verdict.allowed:
        raise Throttled(verdict.retry_after, kind="widget")
    cache: PartnerCache = request.app.state.partners
    partner = await cache.get("widget:" + token_digest(key), load)
    route = getattr(request.scope.get("route"), "path", "")
    if (
        partner is None
        or partner.widget is None
        or not widget.allows(
            partner.widget,
            request.method,
            route.removeprefix(API_PREFIX),
            {name: str(value) for name, value in request.path_params.items()},
        )
    ):
        raise Unauthorized
    return partner


PartnerDep = Annotated[Partner, Depends(require_partner)]


async def user_token(credentials: CredentialsDep) -> str:
    if credentials.user_token is None:
        raise Unauthorized
    return credentials.user_token


UserTokenDep = Annotated[str, Depends(user_token)]


async def current_customer(session: SessionDep, token: UserTokenDep) -> Customer:
    return await verification.authenticate(session, token)


async def optional_customer(session: SessionDep, credentials: CredentialsDep) -> Customer | None:
    """The customer when a `User` token is sent (a bad one is 401), else None."""
    if credentials.user_token is None:
        return None
    return await verification.authenticate(session, credentials.user_token)


CustomerDep = Annotated[Customer, Depends(current_customer)]
MaybeCustomerDep = Annotated[Customer | None, Depends(optional_customer)]


async def business_user_of(session: AsyncSession, credentials: Credentials) -> Principal:
    """For an endpoint that needs the business user only sometimes (`GET /companies?my=1`)."""
    if credentials.user_token is None:
        raise Unauthorized
    return await accounts.authenticate(session, credentials.user_token)


async def current_business_user(session: SessionDep, token: UserTokenDep) -> Principal:
    """The business user of the `User` token; a customer's token is as unknown here as any."""
    return await accounts.authenticate(session, token)


BusinessUserDep = Annotated[Principal, Depends(current_business_user)]
