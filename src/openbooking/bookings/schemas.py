"""Bodies of book_check, book_record and the reschedule."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic.config import JsonDict

from openbooking.kit.envelope import Answer, Envelope
from openbooking.kit.wire import Clean, Id, Moment, Schema, to_id
from openbooking.verification.schemas import Code, Phone

MAX_APPOINTMENTS = 10
MAX_HOURS = 24 * 30


def _hours(value: object) -> int:
    return 0 if value in (None, "") else to_id(value)


Hours = Annotated[
    int,
    BeforeValidator(_hours),
    Field(le=MAX_HOURS),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_HOURS}),
]
Comment = Annotated[str | None, Clean(1000, multiline=True)]


class Appointment(Schema):
    id: Id | None = Field(
        None, description="The client's id for this appointment, named in errors (default: 1, 2…)"
    )
    # A factory, not a default list: pydantic deep-copies a mutable default for every body.
    services: list[Id] = Field(
        default_factory=list,
        max_length=20,
        description="Service ids, back to back",
        json_schema_extra={"default": []},
    )
    events: list[Id] = Field(
        default_factory=list,
        max_length=20,
        description="Accepted in place of `services`",
        json_schema_extra={"default": []},
    )
    staff_id: Id = Field(0, description="A team member, or 0 for anyone free")
    datetime: Moment = Field(description="The start, as `book_times` gave it")
    custom_fields: dict[str, Any] | None = None

    @property
    def service_ids(self) -> list[int]:
        return self.services or self.events


EXAMPLE_APPOINTMENT: JsonDict = {
    "id": 1,
    "services": [101],
    "staff_id": 201,
    "datetime": "2026-12-03T10:00:00+01:00",
}


class CheckBody(Schema):
    """`{appointments: [...]}`, or the list alone."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"appointments": [EXAMPLE_APPOINTMENT]}]}
    )

    appointments: list[Appointment] = Field(min_length=1, max_length=MAX_APPOINTMENTS)

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: Any) -> Any:
        return {"appointments": value} if isinstance(value, list) else value


class BookRecordBody(Schema):
    """The customer, the SMS code where the location confirms phones, and the appointments
    (each as `book_times` offered it). All are booked, or none."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "phone": "+4915112345678",
                    "fullname": "Ada Lovelace",
                    "email": "ada@example.org",
                    "code": "123456",
                    "comment": "",
                    "notify_by_sms": 2,
                    "appointments": [EXAMPLE_APPOINTMENT],
                }
            ]
        }
    )
    phone: Phone = Field(None, description="The customer's phone (431 when malformed)")
    fullname: Annotated[str | None, Clean(255)] = Field(
        None, description="The customer's name (435 when missing)"
    )
    email: Annotated[str | None, Clean(254)] = None
    comment: Comment = None
    code: Code = Field(None, description="The SMS code, where the location confirms phones")
    appointments: list[Appointment] = Field(min_length=1, max_length=MAX_APPOINTMENTS)
    notify_by_sms: Hours = Field(0, description="Hours before the visit to send a reminder")
    notify_by_email: Hours = 0
    custom_fields: dict[str, Any] | None = None
    api_id: Annotated[str | None, Clean(64)] = None


class RescheduleBody(Schema):
    datetime: Moment = Field(description="The new start, as `book_times` gave it")
    comment: Comment = None


# Answers ---------------------------------------------------------------------------------------
# What `bookings.render` sends; `...Y` is the YCLIENTS shape (`staff.show_rating`).

STAMP = "Local time with the offset, without a colon"


class Booked(Answer):
    id: int = Field(description="The appointment's `id` from the request (default: 1, 2…)")
    record_id: int
    record_hash: str = Field(description="Reads or cancels the record without a user token")


class RecordService(Answer):
    id: int
    title: str
    cost: float
    price_min: float
    price_max: float
    discount: float
    amount: int
    seance_length: int = Field(description="Seconds")


class RecordCompany(Answer):
    id: int
    title: str
    country_id: int
    country: str
    city_id: int
    city: str
    phone: str
    phones: list[str]
    timezone: str = Field(description="The UTC offset at the visit, in hours", examples=["-5"])
    address: str
    coordinate_lat: float
    coordinate_lon: float
    allow_delete_record: bool
    allow_change_record: bool
    site: str
    currency_short_title: str
    allow_change_record_delay_step: int
    allow_delete_record_delay_step: int


class RecordPosition(Answer):
    id: int
    title: str


class _RecordStaff(Answer):
    id: int
    name: str
    specialization: str
    position: RecordPosition = Field(description='`{id: 0, title: ""}` without a position')
    rating: float
    votes_count: int
    comments_count: int
    avatar: str


class RecordStaff(_RecordStaff):
    show_rating: Literal[0, 1]


class RecordStaffY(_RecordStaff):
    show_rating: bool


class _Record(Answer):
    id: int
    services: list[RecordService]
    company: RecordCompany
    clients_count: int
    date: str = Field(examples=["2026-10-24 17:30:00"], description="Local time")
    datetime: str = Field(examples=["2026-10-24T17:30:00-0500"], description=STAMP)
    create_date: str = Field(description=STAMP)
    last_change_date: str = Field(description=STAMP)
    comment: str
    deleted: bool = Field(description="Cancelled")
    attendance: int
    visit_attendance: int
    length: int = Field(description="Seconds")
    notify_by_sms: int = Field(description="Hours before the visit; 0: no reminder")
    notify_by_email: int
    master_requested: bool
    online: bool
    api_id: str
    prepaid: bool
    prepaid_confirmed: bool
    activity_id: int
    custom_fields: dict[str, Any]


class BookedRecord(_Record):
    staff: RecordStaff


class BookedRecordY(_Record):
    staff: RecordStaffY


class Cancelled(Envelope[None]):
    """`{"success": true, "data": null, "meta": []}`: cancelled (or already cancelled)."""
