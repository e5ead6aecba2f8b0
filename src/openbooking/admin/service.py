"""Sessions of the admin page.

The browser holds one HttpOnly cookie with a business user's token and nothing else. The
partner half of `Authorization` is the page's own partner, whose token is derived from the
server secret and never leaves the server: `session.AdminSession` adds both to a same-origin
`/api/v1` request that carries the cookie and the page's CSRF header.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode
from datetime import timedelta
from typing import TYPE_CHECKING

from openbooking.admin import repository
from openbooking.backoffice import accounts
from openbooking.kit.auth import token_digest
from openbooking.kit.clock import now

if TYPE_CHECKING:
    from openbooking.kit.db import UnitOfWork
    from openbooking.models.business_users import BusinessUser
    from openbooking.verification.service import Context

PARTNER_NAME = "admin page"
SESSION_HOURS = 12
COOKIE = "openbooking_admin"
SECURE_COOKIE = "__Host-openbooking_admin"  # over https: Secure, Path=/, no Domain
CSRF_HEADER = "x-openbooking-admin"


def partner_token(key: bytes) -> str:
    """The page's partner token: HMAC of the server secret, so every worker knows it and no
    file or row holds it."""
    mac = hmac.new(key, b"openbooking admin page partner token", hashlib.sha256).digest()
    return urlsafe_b64encode(mac).decode().rstrip("=")


def cookie_name(https: bool) -> str:
    return SECURE_COOKIE if https else COOKIE


async def log_in(
    work: UnitOfWork, ctx: Context, login: str | None, password: str | None, code: str | None
) -> tuple[BusinessUser, str]:
    """The business login (its throttling, argon2 and second factor), then a session of
    SESSION_HOURS instead of the API token's days."""
    user, token = await accounts.login(work, ctx, login, password, code)
    session = await work.write()
    await repository.shorten_token(
        session, token_digest(token), now() + timedelta(hours=SESSION_HOURS)
    )
    await repository.ensure_partner(session, PARTNER_NAME, token_digest(partner_token(ctx.key)))
    return user, token


async def log_out(work: UnitOfWork, token: str) -> None:
    await repository.revoke_token(await work.write(), token_digest(token), now())


def same_origin(headers: dict[str, str], scheme: str) -> bool:
    """The CSRF check for a cookie-authenticated request: the page's own header (a cross-site
    form cannot send it, and a cross-site fetch with it needs a CORS preflight the server never
    grants), and, where the browser says, a same-origin request."""
    if headers.get(CSRF_HEADER) != "1":
        return False
    site = headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    origin = headers.get("origin")
    host = headers.get("host")
    return origin is None or (host is not None and origin == f"{scheme}://{host}")
