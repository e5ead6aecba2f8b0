"""The business side: `POST /auth` and the YCLIENTS B2B subset, with the business user's token
(`Authorization: Bearer <partner>, User <user token>`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from openbooking.auth.dependencies import BusinessUserDep, require_partner
from openbooking.auth.routes import PartnerRoute
from openbooking.backoffice import accounts, render, service
from openbooking.backoffice.schemas import (
    ActivityBody,
    ActivityDeleted,
    AuthBody,
    AuthQuery,
    BusinessActivity,
    BusinessProfile,
    BusinessRecord,
    Cancelled,
    ClientsPage,
    ClientsQuery,
    ClientView,
    RecordBody,
    RecordsPage,
    RecordsQuery,
    ScheduleBody,
    ScheduleDay,
    ServicesPage,
    StaffView,
)
from openbooking.deps import ContextDep, DialectDep, SessionDep, WorkDep, WriteSessionDep
from openbooking.kit.envelope import BODY_ERRORS, ERROR_RESPONSES, Envelope, envelope, errors
from openbooking.kit.openapi import answers
from openbooking.kit.wire import DayPath, IdPath, body, query

router = APIRouter(
    dependencies=[Depends(require_partner)],
    tags=["business"],
    responses=ERROR_RESPONSES,
    route_class=PartnerRoute,
)
USER = (
    401,
    "Missing or unknown partner token, or no valid business user token (a customer's token"
    " is not one)",
)
FORBIDDEN = (403, "Not a location of this business user, or not for their role")
MANAGERS = (403, "Not a location of this business user, or the user is a team member")
MEMBER_403 = (
    403,
    "Not a location of this business user, or another team member's (for a team member)",
)
REFUSED = (
    422,
    "A malformed parameter (`meta.errors[].field`), or 433 in `meta.errors[].code`: the time is"
    " taken or outside the member's hours (without `save_if_busy`), or overlaps another booking",
)


def _key(request: Request) -> bytes:
    key: bytes = request.app.state.secret_key
    return key


@router.post(
    "/auth",
    status_code=201,
    summary="Business user login (e-mail or phone, and password)",
    responses=answers(201, Envelope[BusinessProfile])
    | errors(
        *BODY_ERRORS,
        (
            401,
            "Missing or unknown partner token, no business user with this login and password,"
            " or a wrong or used authenticator code",
        ),
        (
            422,
            "`login` or `password` missing; or the user has a second factor and `2fa.secret`"
            " (or `totp`) is missing",
        ),
        (429, "Too many failed logins for this login from this address; see `Retry-After`"),
        503,
    ),
)
async def post_auth(
    data: Annotated[AuthBody, Depends(body(AuthBody))],
    params: Annotated[AuthQuery, Depends(query(AuthQuery))],
    work: WorkDep,
    context: ContextDep,
    dialect: DialectDep,
) -> Response:
    user, token = await accounts.login(
        work,
        context,
        data.login or params.login,
        data.password or params.password,
        data.code or params.totp,
    )
    return envelope(render.profile(user, token, dialect), status_code=201)


@router.get(
    "/records/{location_id}",
    summary="A location's records, filtered and paged",
    responses=answers(200, RecordsPage) | errors(USER, MEMBER_403, (404, "Unknown location"), 422),
)
async def get_records(
    location_id: IdPath,
    params: Annotated[RecordsQuery, Depends(query(RecordsQuery))],
    session: SessionDep,
    user: BusinessUserDep,
    dialect: DialectDep,
) -> Response:
    rows, total = await service.list_records(session, user, location_id, params, dialect)
    return envelope(rows, meta={"page": params.page, "total_count": total})


@router.post(
    "/records/{location_id}",
    status_code=201,
    summary="Book a walk-in or phone appointment",
    responses=answers(201, Envelope[list[BusinessRecord]])
    | errors(
        *BODY_ERRORS,
        USER,
        (403, MEMBER_403[1] + "; `save_if_busy` from a team member"),
        (404, "Unknown location"),
        REFUSED,
    ),
)
async def post_records(
    location_id: IdPath,
    data: Annotated[RecordBody, Depends(body(RecordBody))],
    request: Request,
    session: WriteSessionDep,
    user: BusinessUserDep,
    dialect: DialectDep,
) -> Response:
    view = await service.create_record(session, _key(request), user, location_id, data, dialect)
    return envelope([view], status_code=201)


@router.get(
    "/record/{location_id}/{record_id}",
    summary="One record, with its history",
    responses=answers(200, Envelope[BusinessRecord])
    | errors(USER, MEMBER_403, (404, "No such record at this location"), 422),
)
async def get_record(
    location_id: IdPath,
    record_id: IdPath,
    session: SessionDep,
    user: BusinessUserDep,
    dialect: DialectDep,
) -> Response:
    return envelope(await service.get_record(session, user, location_id, record_id, dialect))


@router.put(
    "/record/{location_id}/{record_id}",
    status_code=201,
    summary="Move, change services or member, comment, attendance",
    responses=answers(201, Envelope[BusinessRecord])
    | errors(
        *BODY_ERRORS,
        USER,
        (403, MEMBER_403[1] + "; a cancelled record; `save_if_busy` from a team member"),
        (404, "No such record at this location"),
        REFUSED,
    ),
)
async def put_record(
    location_id: IdPath,
    record_id: IdPath,
    data: Annotated[RecordBody, Depends(body(RecordBody))],
    session: WriteSessionDep,
    user: BusinessUserDep,
    dialect: DialectDep,
) -> Response:
    view = await service.update_record(session, user, location_id, record_id, data, dialect)
    return envelope(view, status_code=201)


@router.delete(
    "/record/{location_id}/{record_id}",
    summary="Cancel a record",
    responses=answers(200, Envelope[Cancelled])
    | errors(USER, MEMBER_403, (404, "No such record at this location"), 422),
)
async def delete_record(
    location_id: IdPath, record_id: IdPath, session: WriteSessionDep, user: BusinessUserDep
) -> Response:
    return envelope(await service.delete_record(session, user, location_id, record_id))


@router.get(
    "/staff/{location_id}",
    summary="The location's team",
    responses=answers(200, Envelope[list[StaffView]])
    | errors(USER, FORBIDDEN, (404, "Unknown location"), 422),
)
async def get_staff(location_id: IdPath, session: SessionDep, user: BusinessUserDep) -> Response:
    return envelope(await service.staff(session, user, location_id))


@router.get(
    "/staff/{location_id}/{staff_id}",
    summary="One team member (a list of one, as the reference has it)",
    responses=answers(200, Envelope[list[StaffView]])
    | errors(USER, FORBIDDEN, (404, "Unknown location or team member"), 422),
)
async def get_staff_member(
    location_id: IdPath, staff_id: IdPath, session: SessionDep, user: BusinessUserDep
) -> Response:
    return envelope(await service.staff(session, user, location_id, staff_id))


@router.get(
    "/services/{location_id}",
    summary="The location's services",
    responses=answers(200, ServicesPage) | errors(USER, FORBIDDEN, (404, "Unknown location"), 422),
)
async def get_services(location_id: IdPath, session: SessionDep, user: BusinessUserDep) -> Response:
    found = await service.services(session, user, location_id)
    return envelope(found, meta={"total_count": len(found)})


@router.get(
    "/company/{location_id}/services",
    summary="The location's services (the path one Altegio client uses)",
    responses=answers(200, ServicesPage) | errors(USER, FORBIDDEN, (404, "Unknown location"), 422),
)
async def get_company_services(
    location_id: IdPath, session: SessionDep, user: BusinessUserDep
) -> Response:
    found = await service.services(session, user, location_id)
    return envelope(found, meta={"total_count": len(found)})


@router.get(
    "/services/{location_id}/{service_id}",
    summary="One service (a list of one, as the reference has it)",
    responses=answers(200, ServicesPage)
    | errors(USER, FORBIDDEN, (404, "Unknown location or service"), 422),
)
async def get_service(
    location_id: IdPath, service_id: IdPath, session: SessionDep, user: BusinessUserDep
) -> Response:
    found = await service.services(session, user, location_id, service_id)
    return envelope(found, meta={"total_count": len(found)})


@router.get(
    "/clients/{location_id}",
    summary="The location's clients, by phone or name, paged",
    responses=answers(200, ClientsPage) | errors(USER, MANAGERS, (404, "Unknown location"), 422),
)
async def get_clients(
    location_id: IdPath,
    params: Annotated[ClientsQuery, Depends(query(ClientsQuery))],
    session: SessionDep,
    user: BusinessUserDep,
    dialect: DialectDep,
) -> Response:
    rows, total = await service.clients(session, user, location_id, params, dialect)
    return envelope(rows, meta={"page": params.page, "total_count": total})


@router.get(
    "/client/{location_id}/{client_id}",
    summary="One client",
    responses=answers(200, Envelope[ClientView])
    | errors(USER, MANAGERS, (404, "No such client at this location"), 422),
)
async def get_client(
    location_id: IdPath,
    client_id: IdPath,
    session: SessionDep,
    user: BusinessUserDep,
    dialect: DialectDep,
) -> Response:
    return envelope(await service.client(session, user, location_id, client_id, dialect))


@router.get(
    "/schedule/{location_id}/{staff_id}/{start_date}/{end_date}",
    summary="A team member's working hours, day by day",
    responses=answers(200, Envelope[list[ScheduleDay]])
    | errors(USER, MEMBER_403, (404, "Unknown location or team member"), 422),
)
async def get_schedule(
    location_id: IdPath,
    staff_id: IdPath,
    start_date: DayPath,
    end_date: DayPath,
    session: SessionDep,
    user: BusinessUserDep,
) -> Response:
    return envelope(
        await service.schedule(session, user, location_id, staff_id, start_date, end_date)
    )


STRANDED = (409, "The change would leave bookings outside the hours; `meta.errors[]` lists them")


@router.put(
    "/schedule/{location_id}/{staff_id}/{start_date}/{end_date}",
    summary="Days off and changed hours for dates (within the path's dates)",
    responses=answers(200, Envelope[list[ScheduleDay]])
    | errors(
        *BODY_ERRORS,
        USER,
        MEMBER_403,
        (404, "Unknown location or team member"),
        STRANDED,
        422,
    ),
)
async def put_schedule_span(
    location_id: IdPath,
    staff_id: IdPath,
    start_date: DayPath,
    end_date: DayPath,
    data: Annotated[ScheduleBody, Depends(body(ScheduleBody))],
    session: WriteSessionDep,
    user: BusinessUserDep,
) -> Response:
    days = await service.put_schedule(
        session, user, location_id, staff_id, data.days(), (start_date, end_date)
    )
    return envelope(days)


@router.put(
    "/schedule/{location_id}/{staff_id}",
    summary="Days off and changed hours for dates",
    responses=answers(200, Envelope[list[ScheduleDay]])
    | errors(
        *BODY_ERRORS,
        USER,
        MEMBER_403,
        (404, "Unknown location or team member"),
        STRANDED,
        422,
    ),
)
async def put_schedule(
    location_id: IdPath,
    staff_id: IdPath,
    data: Annotated[ScheduleBody, Depends(body(ScheduleBody))],
    session: WriteSessionDep,
    user: BusinessUserDep,
) -> Response:
    days = await service.put_schedule(session, user, location_id, staff_id, data.days(), None)
    return envelope(days)


# Group-event sessions (docs/business-api.md "Group events"); the public routes of
# activities/endpoints.py (`search`, `filters`, ...) are included first and keep their paths.

SESSION_REFUSED = (
    409,
    "The session would overlap an appointment or another session of its leader; it is one of"
    " the business file's (change the file); or (DELETE) it has booked seats (their number in"
    " `meta.errors[0].message`)",
)
SESSION_422 = (
    422,
    "A malformed or missing field (`meta.errors[].field`): unknown service, member or resource,"
    " a start in the past or outside the leader's hours (without `force`), a capacity below the"
    " seats booked, or a session that has started",
)


@router.post(
    "/activity/{location_id}",
    summary="Create a group-event session",
    responses=answers(200, Envelope[BusinessActivity])
    | errors(*BODY_ERRORS, USER, MANAGERS, (404, "Unknown location"), SESSION_REFUSED, SESSION_422),
)
async def post_activity(
    location_id: IdPath,
    data: Annotated[ActivityBody, Depends(body(ActivityBody))],
    session: WriteSessionDep,
    user: BusinessUserDep,
) -> Response:
    return envelope(await service.create_activity(session, user, location_id, data))


@router.get(
    "/activity/{location_id}/{activity_id}",
    summary="One group-event session",
    responses=answers(200, Envelope[BusinessActivity])
    | errors(
        USER,
        (403, "Not a location of this business user, or a session a team member does not lead"),
        (404, "No such session at this location"),
        422,
    ),
)
async def get_activity(
    location_id: IdPath, activity_id: IdPath, session: SessionDep, user: BusinessUserDep
) -> Response:
    return envelope(await service.get_activity(session, user, location_id, activity_id))


@router.put(
    "/activity/{location_id}/{activity_id}",
    summary="Move or change a group-event session (its seats follow it)",
    responses=answers(200, Envelope[BusinessActivity])
    | errors(
        *BODY_ERRORS,
        USER,
        MANAGERS,
        (404, "No such session at this location"),
        SESSION_REFUSED,
        SESSION_422,
    ),
)
async def put_activity(
    location_id: IdPath,
    activity_id: IdPath,
    data: Annotated[ActivityBody, Depends(body(ActivityBody))],
    session: WriteSessionDep,
    user: BusinessUserDep,
) -> Response:
    view = await service.update_activity(session, user, location_id, activity_id, data)
    return envelope(view)


@router.delete(
    "/activity/{location_id}/{activity_id}",
    status_code=202,
    summary="Cancel a group-event session without booked seats",
    responses=answers(202, ActivityDeleted)
    | errors(USER, MANAGERS, (404, "No such session at this location"), SESSION_REFUSED, 422),
)
async def delete_activity(
    location_id: IdPath, activity_id: IdPath, session: WriteSessionDep, user: BusinessUserDep
) -> Response:
    await service.delete_activity(session, user, location_id, activity_id)
    return envelope(None, meta={"message": "Accepted"}, status_code=202)
