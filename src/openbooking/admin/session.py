"""The cookie session, as ASGI middleware in front of `/api/v1`: a request with the admin
cookie, no Authorization header and the page's CSRF header gets
`Authorization: Bearer <admin page partner>, User <token from the cookie>`. Anything else passes
unchanged (a cookie without the CSRF header is no credential at all: 401). A request the person
made (not the page's background polling) keeps the session from ending for idleness."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING

from openbooking.admin import service

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

API_PREFIX = "/api/v1/"
MAX_TOKEN = 200


def cookie_token(cookie_header: str, https: bool) -> str | None:
    try:
        jar = SimpleCookie(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(service.cookie_name(https))
    if morsel is None or not morsel.value or len(morsel.value) > MAX_TOKEN:
        return None
    return morsel.value


class AdminSession:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
            await self._add_authorization(scope)
        await self.app(scope, receive, send)

    async def _add_authorization(self, scope: Scope) -> None:
        """Add the header to this scope, not to a copy: the edge outside reads the matched
        route from it for the access log and the metrics."""
        raw = scope["headers"]
        # Most API requests carry a token and no cookie: they are let through after a look at
        # the header names, without decoding every header.
        has_cookie = False
        for name, _ in raw:
            if name == b"authorization":
                return
            has_cookie = has_cookie or name == b"cookie"
        if not has_cookie:
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in raw}
        https = scope.get("scheme") == "https"
        token = cookie_token(headers["cookie"], https)
        state = scope["app"].state
        scheme = scope.get("scheme", "http")
        if token is None or not service.same_origin(headers, scheme, state.settings.public_url):
            return
        if service.BACKGROUND_HEADER not in headers:  # a person's use keeps the session alive
            await service.touch(state.sessionmaker, token, state.settings.admin_idle_minutes)
        partner = service.partner_token(state.secret_key)
        value = f"Bearer {partner}, User {token}".encode("latin-1")
        scope["headers"] = [*raw, (b"authorization", value)]
