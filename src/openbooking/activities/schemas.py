"""Queries and the body of the group-event endpoints, and the answers they send."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field

from openbooking.bookings.schemas import Comment, Hours
from openbooking.kit.envelope import Answer
from openbooking.kit.wire import Clean, Day, Id, IdList, QuerySchema, Schema
from openbooking.verification.schemas import Code, Phone

MAX_COUNT = 300
MAX_SEATS = 100


class FilterQuery(QuerySchema):
    service_ids: IdList = Field([], description="Only sessions of these services")
    staff_ids: IdList = Field([], description="Only sessions led by these team members")
    resource_ids: IdList = Field([], description="Only sessions taking one of these resources")
    service_id: Id = Field(0, description="One service (accepted beside `service_ids`)")
    staff_id: Id = Field(0, description="One team member (accepted beside `staff_ids`)")

    @property
    def services(self) -> list[int]:
        return [*self.service_ids, *([self.service_id] if self.service_id else [])]

    @property
    def staff(self) -> list[int]:
        return [*self.staff_ids, *([self.staff_id] if self.staff_id else [])]


class DatesQuery(FilterQuery):
    from_: Day = Field(alias="from", description="The first local date (YYYY-MM-DD)")
    till: Day = Field(description="The last local date (YYYY-MM-DD), inclusive")


class SearchQuery(DatesQuery):
    page: Annotated[int, Field(ge=1, le=100000)] = 1
    count: Annotated[int, Field(ge=1, le=MAX_COUNT)] = Field(25, description="Sessions per page")


class FiltersQuery(FilterQuery):
    from_: Day | None = Field(None, alias="from", description="Default: today")
    till: Day | None = Field(None, description="Default: open")


class Appointment(Schema):
    clients_count: Annotated[int, Field(ge=1, le=MAX_SEATS)] | None = None


class BookBody(Schema):
    """The customer, the SMS code where the location confirms phones, and the seats to take."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fullname": "Ada Lovelace",
                    "phone": "+4915112345678",
                    "email": "ada@example.org",
                    "code": "123456",
                    "comment": "",
                    "clients_count": 2,
                    "notify_by_sms": 2,
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
    clients_count: Annotated[int, Field(ge=1, le=MAX_SEATS)] | None = Field(
        None, description="Seats to take (default 1)"
    )
    appointments: list[Appointment] = Field(
        [], max_length=1, description="YCLIENTS: `clients_count` may come in here instead"
    )
    notify_by_sms: Hours = Field(0, description="Hours before the session to send a reminder")
    notify_by_email: Hours = 0
    type: Annotated[str | None, Clean(32)] = None
    api_id: Annotated[str | None, Clean(64)] = None

    @property
    def seats(self) -> int:
        nested = self.appointments[0].clients_count if self.appointments else None
        return self.clients_count or nested or 1


# Answers ---------------------------------------------------------------------------------------


class Category(Answer):
    id: int
    category_id: int = Field(description="The parent category: always 0")
    title: str


class EventService(Answer):
    id: int
    category_id: int
    title: str
    price_min: float = Field(description="The seat's price (the event's, else the service's)")
    price_max: float
    comment: str
    image_url: str
    salon_service_id: int
    prepaid: str
    category: Category


class Position(Answer):
    id: int
    title: str


class EventStaff(Answer):
    id: int
    api_id: str
    name: str
    company_id: int
    specialization: str
    rating: float
    show_rating: int
    avatar: str
    avatar_big: str
    comments_count: int
    votes_count: int
    average_score: float
    prepaid: str
    position: Position = Field(description='`{id: 0, title: ""}` without a position')


class ResourceInstance(Answer):
    id: int
    title: str
    resource_id: int


class Label(Answer):
    id: int = Field(description="The label's place in the event's list, from 1")
    title: str
    color: str


class Activity(Answer):
    id: int = Field(description="The session's id: book it with /activity/{location}/{id}/book")
    service_id: int
    company_id: int
    salon_id: int
    staff_id: int
    date: str = Field(examples=["2026-12-10T18:00:00+01:00"], description="Local start")
    timestamp: int = Field(description="The start in Unix seconds")
    length: int = Field(description="Seconds")
    capacity: int = Field(description="Seats")
    records_count: int = Field(description="Seats taken")
    color: str
    font_color: str
    instructions: str
    stream_link: str
    notified: bool
    prepaid: str
    service: EventService
    staff: EventStaff
    resource_instances: list[ResourceInstance]
    labels: list[Label]


class CountMeta(Answer):
    count: int


class SearchAnswer(Answer):
    success: bool
    data: list[Activity]
    meta: CountMeta = Field(description="`count`: sessions found on all pages")


class DatesRange(Answer):
    min_date: str | None
    max_date: str | None


class DatesRangeAnswer(Answer):
    success: bool
    data: DatesRange
    meta: dict[str, Any] = Field(description="Always `{}`")


class FilterItem(Answer):
    id: int
    title: str
    is_disabled: bool = Field(description="No session matches it with the other filters")
    count: int = Field(description="Sessions matching it and the other filters")


class Filter(Answer):
    code: str = Field(
        examples=["service"], description="service, service_category, staff, resource"
    )
    title: str
    data: list[FilterItem]


class FiltersAnswer(Answer):
    success: bool
    data: list[Filter]
    meta: CountMeta = Field(description="`count`: the number of filters")


class Booked(Answer):
    id: int = Field(description="The record: read or cancel it as any appointment")
    hash: str = Field(description="The record hash")
