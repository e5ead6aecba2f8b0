"""`/admin` (the page and its static files) and `/admin/session` (log in, who am I, log out).
Everything else the page does goes to the B2B API under `/api/v1` (see `session.py`)."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import HTMLResponse, Response

from openbooking.admin import service
from openbooking.admin.session import cookie_token
from openbooking.backoffice import accounts
from openbooking.backoffice.schemas import AuthBody
from openbooking.deps import ContextDep, SessionDep, WorkDep, WorkRoute
from openbooking.kit.envelope import envelope
from openbooking.kit.errors import NotFound, Unauthorized
from openbooking.kit.wire import body

router = APIRouter(include_in_schema=False, route_class=WorkRoute)
STATIC = resources.files("openbooking.admin") / "static"
FILES = {
    "admin.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "dom.js": "text/javascript; charset=utf-8",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _https(request: Request) -> bool:
    return request.url.scheme == "https"


def _check_csrf(request: Request) -> None:
    public_url = request.app.state.settings.public_url
    if not service.same_origin(dict(request.headers), request.url.scheme, public_url):
        raise Unauthorized


@router.get("/admin")
async def admin_page() -> Response:
    html = (STATIC / "admin.html").read_bytes()
    return HTMLResponse(html, headers=HEADERS)


@router.get("/admin/static/{name}")
async def admin_static(name: str) -> Response:
    if name not in FILES:
        raise NotFound
    return Response(
        (STATIC / name).read_bytes(),
        media_type=FILES[name],
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )


def _idle_minutes(request: Request) -> int:
    minutes: int = request.app.state.settings.admin_idle_minutes
    return minutes


def _me(principal: accounts.Principal, request: Request) -> dict[str, object]:
    return {
        "id": principal.id,
        "name": principal.name,
        "role": principal.role,
        "staff_id": principal.staff_id,
        "location_ids": sorted(principal.location_ids),
        "idle_minutes": _idle_minutes(request),
    }


@router.post("/admin/session", status_code=201)
async def log_in(
    data: Annotated[AuthBody, Depends(body(AuthBody))],
    request: Request,
    work: WorkDep,
    context: ContextDep,
) -> Response:
    _check_csrf(request)
    _, token = await service.log_in(
        work, context, data.login, data.password, data.code, _idle_minutes(request)
    )
    principal = await accounts.authenticate(await work.write(), token)
    answer = envelope(_me(principal, request), status_code=201)
    answer.set_cookie(
        service.cookie_name(_https(request)),
        token,
        max_age=service.SESSION_HOURS * 3600,
        path="/",
        secure=_https(request),
        httponly=True,
        samesite="strict",
    )
    answer.headers["Cache-Control"] = "no-store"
    return answer


@router.get("/admin/session")
async def who_am_i(request: Request, session: SessionDep) -> Response:
    _check_csrf(request)
    token = cookie_token(request.headers.get("cookie", ""), _https(request))
    if token is None:
        raise Unauthorized
    if service.BACKGROUND_HEADER not in request.headers:  # opening the page is a use
        await service.touch(request.app.state.sessionmaker, token, _idle_minutes(request))
    return envelope(_me(await accounts.authenticate(session, token), request))


@router.delete("/admin/session")
async def log_out(request: Request, work: WorkDep) -> Response:
    _check_csrf(request)
    token = cookie_token(request.headers.get("cookie", ""), _https(request))
    if token is not None:
        await service.log_out(work, token)
    answer = envelope({"logged_out": True})
    answer.delete_cookie(
        service.cookie_name(_https(request)),
        path="/",
        secure=_https(request),
        httponly=True,
        samesite="strict",
    )
    return answer
