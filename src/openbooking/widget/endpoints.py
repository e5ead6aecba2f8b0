"""The widget's pages: `/b/{bookform_id}` (book), `/r/{location}/{record}/{hash}` (manage a
booking), `/widget.js` (the embed snippet's script) and the static files they load."""

from __future__ import annotations

from html import escape
from importlib import resources

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from openbooking.deps import SessionDep, WorkRoute
from openbooking.kit.errors import NotFound
from openbooking.kit.wire import IdPath
from openbooking.widget import service

router = APIRouter(include_in_schema=False, route_class=WorkRoute)
STATIC = resources.files("openbooking.widget") / "static"
TEMPLATE = (STATIC / "page.html").read_text(encoding="utf-8")
EMBED_SCRIPT = (STATIC / "widget.js").read_bytes()


def _secret(request: Request) -> bytes:
    key: bytes = request.app.state.secret_key
    return key


HEADERS = {
    # The manage link's path carries the record hash: never send it anywhere.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
MISSING = (
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>Not found</title>'
    "<h1>This booking page does not exist (any more).</h1>"
)


def _missing() -> HTMLResponse:
    """A page a person can read, not the API's JSON envelope."""
    policy = service.content_security_policy(())
    return HTMLResponse(
        MISSING, status_code=404, headers=HEADERS | {"Content-Security-Policy": policy}
    )


def _render(request: Request, page: service.Page, view: str) -> HTMLResponse:
    attempts = request.app.state.settings.code_max_attempts
    html = (
        TEMPLATE.replace("{{lang}}", escape(page.lang))
        .replace("{{form}}", str(page.bookform_id))
        .replace("{{key}}", escape(page.key))
        .replace("{{view}}", escape(view))
        .replace("{{title}}", escape(page.title or "Online booking"))
        .replace("{{attempts}}", str(int(attempts)))
    )
    policy = service.content_security_policy(page.embed_origins)
    return HTMLResponse(html, headers=HEADERS | {"Content-Security-Policy": policy})


@router.get("/b/{bookform_id}")
async def booking_page(bookform_id: IdPath, request: Request, session: SessionDep) -> Response:
    try:
        page = await service.booking_page(session, _secret(request), bookform_id)
    except NotFound:
        return _missing()
    return _render(request, page, "book")


@router.get("/r/{location_id}/{record_id}/{record_hash}")
async def manage_page(
    location_id: IdPath, record_id: IdPath, record_hash: str, request: Request, session: SessionDep
) -> Response:
    del record_id, record_hash  # read by the page from its own URL, through the API
    try:
        page = await service.manage_page(session, _secret(request), location_id)
    except NotFound:
        return _missing()
    return _render(request, page, "manage")


@router.get("/widget.js")
async def embed_script() -> Response:
    return Response(
        EMBED_SCRIPT,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
