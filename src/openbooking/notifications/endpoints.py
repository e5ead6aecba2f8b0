"""Calendar files: a team member's feed (`/calendar/{token}.ics`, the token is the credential)
and one booking's event for its customer (`/calendar/record/{id}/{hash}.ics`). Outside
/api/v1 and without a partner token, so that calendar apps can subscribe; the access log
records the route template, never the token or the hash."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from openbooking.bookings import service as bookings
from openbooking.deps import SessionDep, WorkRoute
from openbooking.kit.errors import NotFound
from openbooking.kit.wire import IdPath
from openbooking.notifications import service

router = APIRouter(tags=["calendar"], include_in_schema=False, route_class=WorkRoute)

MAX_TOKEN = 128
CALENDAR = "text/calendar; charset=utf-8"


def _key(request: Request) -> bytes:
    key: bytes = request.app.state.secret_key
    return key


def _ics(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type=CALENDAR,
        headers={
            "Cache-Control": "private, max-age=300",
            "Content-Disposition": f'inline; filename="{filename}"',
        },
    )


@router.get("/calendar/record/{record_id}/{record_hash}.ics")
async def get_record_calendar(
    request: Request, record_id: IdPath, record_hash: str, session: SessionDep
) -> Response:
    if len(record_hash) > MAX_TOKEN:
        raise NotFound("Such an appointment does not exist.")
    record = await bookings.find(session, _key(request), record_id, record_hash, None)
    return _ics(await service.record_ics(session, record), "appointment.ics")


@router.get("/calendar/{token}.ics")
async def get_calendar_feed(request: Request, token: str, session: SessionDep) -> Response:
    if len(token) > MAX_TOKEN:
        raise NotFound("No such calendar.")
    return _ics(await service.feed(session, _key(request), token), "calendar.ics")
