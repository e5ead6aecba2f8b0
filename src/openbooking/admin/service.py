"""Sessions of the admin page.

The browser holds one HttpOnly cookie with a business user's token and nothing else. The
partner half of `Authorization` is the page's own partner, whose token is derived from the
server secret and never leaves the server: `session.AdminSession` adds both to a same-origin
`/api/v1` request that carries the cookie and the page's CSRF header.

A session ends after `admin_idle_minutes` without use, and SESSION_HOURS after the login
whatever happens: the token's `expires_at` is the idle deadline, moved on (at most once a
minute) by each request the person makes, never past `created_at + SESSION_HOURS`. The page's
background polling says so (BACKGROUND_HEADER) and moves nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from openbooking.admin import repository
from openbooking.backoffice import accounts
from openbooking.kit.auth import token_digest
from openbooking.kit.clock import now
from openbooking.kit.db import unit_of_work

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from openbooking.kit.db import UnitOfWork
    from openbooking.models.business_users import BusinessUser
    from openbooking.verification.service import Context

PARTNER_NAME = "admin page"
SESSION_HOURS = 12
COOKIE = "openbooking_admin"
SECURE_COOKIE = "__Host-openbooking_admin"  # over https: Secure, Path=/, no Domain
CSRF_HEADER = "x-openbooking-admin"
BACKGROUND_HEADER = "x-openbooking-background"  # the page's polling: not a person's use
DEFAULT_PORTS = {"http": 80, "https": 443}
TOUCH_STEP = timedelta(minutes=1)  # the idle deadline moves at most once a minute


def partner_token(key: bytes) -> str:
    """The page's partner token: HMAC of the server secret, so every worker knows it and no
    file or row holds it."""
    mac = hmac.new(key, b"openbooking admin page partner token", hashlib.sha256).digest()
    return urlsafe_b64encode(mac).decode().rstrip("=")


def cookie_name(https: bool) -> str:
    return SECURE_COOKIE if https else COOKIE


async def log_in(  # noqa: PLR0917 - the login's fields and the idle limit
    work: UnitOfWork,
    ctx: Context,
    login: str | None,
    password: str | None,
    code: str | None,
    idle_minutes: int,
) -> tuple[BusinessUser, str]:
    """The business login (its throttling, argon2 and second factor), then a session that ends
    after `idle_minutes` without use and SESSION_HOURS at most, instead of the API token's
    days."""
    user, token = await accounts.login(work, ctx, login, password, code)
    session = await work.write()
    limit = min(timedelta(minutes=idle_minutes), timedelta(hours=SESSION_HOURS))
    await repository.shorten_token(session, token_digest(token), now() + limit)
    await repository.ensure_partner(session, PARTNER_NAME, token_digest(partner_token(ctx.key)))
    return user, token


async def touch(
    sessionmaker: async_sessionmaker[AsyncSession], token: str, idle_minutes: int
) -> None:
    """A person used the session: its idle deadline moves to `idle_minutes` from now (never
    past SESSION_HOURS after the login). An ended session stays ended. Written at most once a
    minute per session; otherwise a read."""
    moment = now()
    digest = token_digest(token)
    async with unit_of_work(sessionmaker) as work:
        row = await repository.live_token(work.session, digest, moment)
        if row is None:
            return
        deadline = min(
            moment + timedelta(minutes=idle_minutes),
            row.created_at + timedelta(hours=SESSION_HOURS),
        )
        if deadline - row.expires_at < TOUCH_STEP:
            return
        await repository.extend_token(await work.write(), digest, moment, deadline)


async def log_out(work: UnitOfWork, token: str) -> None:
    await repository.revoke_token(await work.write(), token_digest(token), now())


@lru_cache(maxsize=8)
def origin_of(url: str) -> str | None:
    """The origin a browser sends (`Origin: https://booking.example.com`) for pages at `url`:
    scheme, lower-case host, and the port unless it is the scheme's default."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def same_origin(headers: dict[str, str], scheme: str, public_url: str = "") -> bool:
    """The CSRF check for a cookie-authenticated request: the page's own header (a cross-site
    form cannot send it, and a cross-site fetch with it needs a CORS preflight the server never
    grants), and, where the browser says, a same-origin request: an `Origin` that is the
    server's own as this request reached it (scheme and `Host`), or the origin of
    `OPENBOOKING_PUBLIC_URL` (a reverse proxy may rewrite `Host`)."""
    if headers.get(CSRF_HEADER) != "1":
        return False
    site = headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host")
    if host is not None and origin == f"{scheme}://{host}":
        return True
    return bool(public_url) and origin == origin_of(public_url)
