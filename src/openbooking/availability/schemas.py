"""Availability queries."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from openbooking.kit.envelope import Absent, Answer
from openbooking.kit.wire import Day, Flag, Id, IdList, Moment, QuerySchema

SERVICES = "The services of the visit, back to back (none: any one service)"


class BookStaffQuery(QuerySchema):
    service_ids: IdList = Field([], description=SERVICES)
    datetime: Moment | None = Field(None, description="Only members free then")
    without_seances: Flag = Field(False, description="Leave out each member's free slots")


class BookDatesQuery(QuerySchema):
    staff_id: Id = Field(0, description="A team member, or 0 for anyone")
    service_ids: IdList = Field([], description=SERVICES)
    date: Day | None = Field(None, description="Any day of the month to show")
    date_from: Day | None = Field(None, description="With date_to: the first day to show")
    date_to: Day | None = Field(None, description="With date_from: the last day to show")


class BookTimesQuery(QuerySchema):
    service_ids: IdList = Field([], description=SERVICES)


class BookStaffSeancesQuery(QuerySchema):
    service_ids: IdList = Field([], description=SERVICES)
    datetime: Moment | None = Field(None, description="Look from this moment on")


# Answers ---------------------------------------------------------------------------------------
# What `availability.render` and `availability.service.slot_view` send; `...Y` is the YCLIENTS
# shape where the dialects differ (docs/api-compat.md).


class Slot(Answer):
    time: str = Field(examples=["10:00"], description="Local time of the start")
    seance_length: int = Field(description="Seconds")
    sum_length: int = Field(description="Seconds")
    datetime: str = Field(
        examples=["2026-09-21T10:00:00+02:00"], description="The start with its local offset"
    )


class StaffPosition(Answer):
    id: int
    title: str
    services_binding_type: int


class _StaffMember(Answer):
    id: int
    api_id: str | None
    user_id: None
    name: str
    bookable: bool = Field(description="Has a free day within the booking horizon")
    specialization: str
    position_id: int = Field(description="0 without a position")
    show_rating: Literal[0, 1]
    rating: float
    votes_count: int
    comments_count: int
    avatar: str
    avatar_big: str
    information: str
    schedule_till: str = Field(description="The last bookable day (YYYY-MM-DD)")
    seance_date: str | Absent = Field(
        None, description="The nearest day with free time; left out when there is none"
    )
    seances: list[Slot] = Field(description="The free slots of `seance_date`")
    has_access_timetable: bool
    image_group: list[Any]
    fired: int
    status: int
    hidden: int
    user: None
    prepaid: str


class StaffMember(_StaffMember):
    position: StaffPosition | Annotated[list[Any], Field(max_length=0)] = Field(
        description="`[]` for a member without a position"
    )
    weight: int


class StaffMemberY(_StaffMember):
    position: StaffPosition = Field(description='`{id: 0, title: ""}` without a position')
    weight: str = Field(examples=["10"])


class BookDates(Answer):
    booking_days: dict[str, list[int]] = Field(
        description='Days with free time, by month number (`{"11": [3, 4]}`)'
    )
    booking_dates: list[str] = Field(examples=[["2026-11-03"]])
    working_days: dict[str, list[int]] = Field(description="Working days, by month number")
    working_dates: list[str]


class BookDatesY(Answer):
    booking_days: dict[str, list[str]] = Field(
        description='Days with free time, by month number (`{"11": ["3", "4"]}`)'
    )
    booking_dates: list[str]
    working_days: dict[str, list[str]] = Field(description="Working days, by month number")
    working_dates: list[str]


class StaffSeances(Answer):
    seance_date: str = Field(description='The nearest day with free time, `""` when none')
    seances: list[Slot]


class GridSetting(Answer):
    grid_first_timeslot: int = Field(
        description="The first start of the day, seconds from midnight"
    )
    grid_last_timeslot: int = Field(description="The last start of the day, seconds from midnight")
    grid_display_step: int = Field(description="The location's slot step, seconds")
    grid_nearest_timeslot_delay: int = Field(description="The minimum notice, seconds")
    grid_base_type: Literal["predefined"] = Field(
        description="Starts on multiples of the step from midnight, within working hours"
    )
    is_grid_flexible: bool


class WeekdaySettings(Answer):
    weekday: int = Field(ge=1, le=7, description="1 = Monday … 7 = Sunday")
    timeslots: list[int] = Field(
        description="Every start some bookable member works at, seconds from local midnight"
    )
    setting: GridSetting


class Timeslots(Answer):
    is_enabled: bool
    weekdays_settings: list[WeekdaySettings] = Field(description="Monday to Sunday")
    dates_settings: list[Any] = Field(max_length=0, description="No dated overrides: `[]`")


class EmptyMeta(Answer):
    """`{}`."""


class TimeslotsEnvelope(Answer):
    """`{"success": true, "data": {...}, "meta": {}}` (YCLIENTS sends an object here)."""

    success: Literal[True]
    data: Timeslots
    meta: EmptyMeta
