"""Availability queries."""

from __future__ import annotations

from pydantic import Field

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
