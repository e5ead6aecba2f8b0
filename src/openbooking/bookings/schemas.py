"""Bodies of book_check, book_record and the reschedule."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic.config import JsonDict

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
    services: list[Id] = Field([], max_length=20, description="Service ids, back to back")
    events: list[Id] = Field([], max_length=20, description="Accepted in place of `services`")
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
