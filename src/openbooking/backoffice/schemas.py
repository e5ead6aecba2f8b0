"""Bodies, queries and answers of the business side, in the YCLIENTS B2B wire format."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, RootModel, WithJsonSchema

from openbooking.activities.schemas import (
    Activity,
    Category,
    EventService,
    EventStaff,
    ResourceInstance,
)
from openbooking.kit.envelope import Absent, Answer
from openbooking.kit.wire import Clean, Day, Flag, Id, Moment, PersonName, QuerySchema, Schema

MAX_RECORDS_PAGE = 300

Attendance = Annotated[
    Any,
    WithJsonSchema(
        {
            "description": "2 confirmed, 1 came, 0 waiting, -1 no-show; or the words"
            " `confirmed`, `came`, `waiting`, `no-show`",
            "oneOf": [
                {"type": "integer", "enum": [-1, 0, 1, 2]},
                {"type": "string", "enum": ["confirmed", "came", "waiting", "no-show"]},
            ],
        }
    ),
]


class SecondFactor(Schema):
    uuid: Annotated[str | None, Clean(64)] = Field(None, description="Not needed; ignored")
    secret: Annotated[str | None, Clean(16)] = Field(
        None, description="The 6-digit code of the authenticator app"
    )


class AuthBody(Schema):
    login: Annotated[str | None, Clean(254)] = Field(None, description="E-mail or phone")
    password: str | None = None
    two_factor: SecondFactor | None = Field(
        None,
        alias="2fa",
        description='For a user with a second factor: `{"secret": "123456"}`',
    )
    totp: Annotated[str | None, Clean(16)] = Field(
        None, description="The same code, as a flat field (forms, query strings)"
    )

    @property
    def code(self) -> str | None:
        return self.totp or (self.two_factor.secret if self.two_factor else None)


class AuthQuery(QuerySchema):
    """The same, in the query string, as one client sends it."""

    login: Annotated[str | None, Clean(254)] = None
    password: str | None = None
    totp: Annotated[str | None, Clean(16)] = None


class RecordsQuery(QuerySchema):
    staff_id: Id | None = Field(None, description="Only this team member's records")
    client_id: Id | None = Field(None, description="Only this client's records")
    activity_id: Id | None = Field(
        None,
        description="Only the seat bookings of this group-event session (an OpenBooking"
        " addition: who booked it, with `clients_count` seats each)",
    )
    start_date: Day | None = Field(None, description="Visits on or after this local date")
    end_date: Day | None = Field(None, description="Visits on or before this local date")
    c_start_date: Day | None = Field(None, description="Created on or after this local date")
    c_end_date: Day | None = Field(None, description="Created on or before this local date")
    changed_after: Moment | None = Field(
        None, description="Changed after this moment; cancelled records are listed too"
    )
    page: int = Field(1, ge=1, le=100_000)
    count: int = Field(50, ge=1, le=MAX_RECORDS_PAGE)


class ServiceItem(Schema):
    id: Id
    amount: int | None = None


class ClientFields(Schema):
    name: PersonName = None
    phone: Annotated[str | None, Clean(32)] = None
    email: Annotated[str | None, Clean(254)] = None


class RecordBody(Schema):
    """`POST /records` and `PUT /record`: in a PUT, what is left out stays."""

    staff_id: Id | None = None
    services: list[ServiceItem] | None = Field(None, max_length=20)
    datetime: Moment | None = None
    client: ClientFields | None = None
    comment: Annotated[str | None, Clean(1000, multiline=True)] = None
    attendance: Attendance = None
    save_if_busy: Flag = Field(
        False,
        description="An owner or administrator books outside working hours and the slot grid"
        " (logged, and kept in the record's history); never over another booking",
    )
    api_id: Annotated[str | None, Clean(64)] = None
    custom_fields: dict[str, Any] | None = None


class ActivityBody(Schema):
    """`POST /activity` and `PUT /activity/{id}`: in a PUT, what is left out stays."""

    date: Moment | None = None
    service_id: Id | None = None
    staff_id: Id | None = None
    capacity: int | None = Field(None, ge=1, le=10_000, description="Seats")
    length: int | None = Field(
        None, ge=60, le=86_400, description="Seconds (default: the service's duration)"
    )
    resource_instance_ids: list[Id] | None = Field(None, max_length=20)
    force: Flag = Field(
        False,
        description="Outside the leader's working hours (logged); never over another booking"
        " or session of the leader",
    )


class ClientsQuery(QuerySchema):
    phone: Annotated[str | None, Clean(32)] = Field(None, description="Part of the phone")
    fullname: Annotated[str | None, Clean(255)] = Field(None, description="Part of the name")
    page: int = Field(1, ge=1, le=100_000)
    count: int = Field(50, ge=1, le=200)


class Slot(Schema):
    from_: Annotated[str, Clean(5)] = Field(alias="from", examples=["10:00"])
    to: Annotated[str, Clean(5)] = Field(examples=["19:00"])


class ScheduleDayBody(Schema):
    date: Day
    is_working: Flag
    slots: list[Slot] = Field([], max_length=10)


# Answers ---------------------------------------------------------------------------------------


class BusinessProfile(Answer):
    """`POST /auth`: the business user and their token."""

    id: int
    user_token: str
    name: str
    phone: str
    login: str
    email: str
    avatar: str
    is_approved: bool
    is_email_confirmed: bool


class PositionRef(Answer):
    id: int
    title: str


class RecordServiceView(Answer):
    id: int
    title: str
    cost: float
    manual_cost: float
    cost_per_unit: float
    discount: float
    first_cost: float
    amount: int


class StaffBrief(Answer):
    id: int
    api_id: str
    name: str
    specialization: str
    spec: str = Field(description="The same as `specialization`")
    position: PositionRef
    avatar: str
    avatar_big: str
    rating: float
    votes_count: int


class ClientView(Answer):
    """A client as `GET /clients` and `GET /client` answer."""

    id: int
    name: str
    phone: str
    email: str
    categories: list[Any]
    sex_id: int
    sex: str
    discount: int
    importance_id: int
    importance: str
    card: int
    birth_date: str
    comment: str
    sms_check: int
    sms_not: int
    spent: float
    balance: float
    visits: int
    last_change_date: str
    custom_fields: dict[str, Any]


class RecordClient(Answer):
    """The client inside a record."""

    id: int
    name: str
    surname: str
    patronymic: str
    display_name: str
    phone: str
    card: str
    email: str
    success_visits_count: int
    fail_visits_count: int
    discount: int
    is_new: bool
    custom_fields: dict[str, Any]


class Actor(Answer):
    type: str = Field(description="`customer`, `user` (a business user) or `system`")
    id: int | None
    name: str


class Change(Answer):
    date: str
    actor: Actor
    action: str = Field(description="`created`, `changed` or `cancelled`")
    changes: dict[str, Any]


class SmsNotice(Answer):
    on: bool = Field(
        description="The customer asked for an SMS reminder and the location sends reminders"
    )
    hours_before: int = Field(description="How long before the visit (`sms_remain_hours`)")
    reminder: str = Field(
        description="`off` (none asked for, or the location sends none), `pending` (due at"
        " `due`), `sent`, or `none` (the visit was nearer than the lead time when booked or"
        " moved: the confirmation stands in for it)"
    )
    due: str | None = Field(description="When the pending reminder goes out (local, offset)")


class EmailNotice(Answer):
    on: bool = Field(description="The customer asked for e-mails and gave an address")
    hours_before: int = Field(description="The e-mail reminder's lead time (`email_remain_hours`)")
    address: str


class OutboxNotice(Answer):
    id: int
    channel: str = Field(description="`email` or `webhook`")
    event: str = Field(
        description="`email.confirmed`, `email.changed`, `email.cancelled`, `email.reminder`,"
        " `email.staff_new`, or a webhook event (`record.created`, …)"
    )
    to: str = Field(description="The e-mail address, or the webhook endpoint's host")
    state: str = Field(
        description="`pending` (queued, or retrying after `error`), `sent`, `failed` (given up"
        " after the last retry) or `dropped` (no longer wanted: the visit moved or was"
        " cancelled)"
    )
    attempts: int
    due: str = Field(description="When it is (or was) due, local with offset")
    sent: str | None = Field(description="When it was delivered")
    error: str = Field(description="The last failure, or why it was dropped; empty otherwise")


class RecordNotices(Answer):
    """What the customer and the integrations hear about a booking (an OpenBooking addition)."""

    sms: SmsNotice
    email: EmailNotice
    outbox: list[OutboxNotice] = Field(
        description="The record's e-mails and webhook calls in the outbox, oldest first"
    )


class BusinessRecord(Answer):
    """A record as the business sees it (YCLIENTS `GET /records`), with its history."""

    id: int
    company_id: int
    staff_id: int
    services: list[RecordServiceView]
    goods_transactions: list[Any]
    staff: StaffBrief
    client: RecordClient | None
    clients_count: int
    date: str
    datetime: str
    create_date: str
    comment: str
    online: bool
    visit_attendance: int
    attendance: int
    confirmed: int
    seance_length: int
    length: int
    technical_break_duration: int
    sms_before: int
    sms_now: int
    sms_now_text: str
    email_now: int
    notified: int
    master_request: int
    api_id: str
    from_url: str
    review_requested: int
    visit_id: int
    created_user_id: int
    deleted: bool
    paid_full: int
    prepaid: bool
    prepaid_confirmed: bool
    payment_status: int
    last_change_date: str
    custom_color: str
    custom_font_color: str
    record_labels: list[Any]
    activity_id: int
    custom_fields: dict[str, Any]
    documents: list[Any]
    sms_remain_hours: int
    email_remain_hours: int
    bookform_id: int
    record_from: str
    is_mobile: int
    is_sale_bill_printed: bool
    client_agreements: None
    consumables: list[Any]
    finance_transactions: list[Any]
    history: list[Change] | Absent = Field(None, description="Only in `GET /record`")
    notifications: RecordNotices | Absent = Field(
        None,
        description="Only in `GET /record` (an OpenBooking addition): the SMS and e-mail"
        " settings of the booking and the state of its e-mails and webhook calls",
    )


class RecordsMeta(Answer):
    page: int
    total_count: int


class RecordsPage(Answer):
    success: bool
    data: list[BusinessRecord]
    meta: RecordsMeta


class StaffView(Answer):
    id: int
    api_id: str
    name: str
    specialization: str
    spec: str = Field(description="The same as `specialization`")
    position: PositionRef
    avatar: str
    avatar_big: str
    rating: float
    votes_count: int
    show_rating: int
    user_id: int = Field(description="The business user who is this member, else 0")
    comments_count: int
    weight: str
    information: str
    hidden: str
    fired: str
    status: str
    bookable: bool
    services_links: list[dict[str, Any]]


class ServiceView(Answer):
    id: int
    salon_service_id: int
    title: str
    category_id: int
    weight: int
    active: int
    api_id: str
    price_min: float
    price_max: float
    discount: str
    comment: str
    duration: int
    prepaid: str
    is_multi: bool
    staff: list[dict[str, Any]]


class CountMeta(Answer):
    total_count: int


class ServicesPage(Answer):
    success: bool
    data: list[ServiceView]
    meta: CountMeta


class SlotView(Answer):
    from_: str = Field(alias="from")
    to: str


class ScheduleDay(Answer):
    date: str
    is_working: bool
    slots: list[SlotView]


class ClientsMeta(Answer):
    page: int
    total_count: int


class ClientsPage(Answer):
    success: bool
    data: list[ClientView]
    meta: ClientsMeta


class Cancelled(Answer):
    id: int
    deleted: bool


class ActivityCategory(Category):
    is_category: bool
    salon_service_id: str = Field(description="The category's id, as a string")
    prepaid: str
    abonement_restriction: int


class ActivityService(EventService):
    category: ActivityCategory
    is_category: bool
    abonement_restriction: bool
    labels: list[Any]
    resource_instances: list[ResourceInstance]


class ActivityStaff(EventStaff):
    user_id: int = Field(description="Always 0")


class DurationDetails(Answer):
    id: int
    services_duration: int = Field(description="Seconds")
    technical_break_duration: int = Field(description="Seconds; always 0")


class BusinessActivity(Activity):
    """A session as the B2B `activity` paths answer: the public search's shape and more."""

    comment: str
    duration_details: DurationDetails
    service: ActivityService
    staff: ActivityStaff


class ActivityDeleted(Answer):
    success: bool
    data: None
    meta: dict[str, str] = Field(examples=[{"message": "Accepted"}])


class ScheduleBody(RootModel[list[ScheduleDayBody] | ScheduleDayBody]):
    """Days to change: a list (or one day) of `{date, is_working, slots: [{from, to}]}`."""

    def days(self) -> list[ScheduleDayBody]:
        return self.root if isinstance(self.root, list) else [self.root]
