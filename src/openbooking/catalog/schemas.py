"""Catalog queries, and the catalog's answers as the references type them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from openbooking.kit.wire import Clean, Flag, Id, IdList, Moment, QuerySchema

MAX_PAGE_SIZE = 500


class CompaniesQuery(QuerySchema):
    id: Id | None = Field(None, description="Only this location")
    group_id: Id | None = Field(None, description="Only the locations of this chain")
    active: Flag = Field(False, description="Only locations open for booking")
    title: Annotated[str | None, Clean(255)] = Field(None, description="Part of the title")
    page: int = Field(1, ge=1, le=100_000)
    count: int = Field(100, ge=1, le=MAX_PAGE_SIZE)
    forBooking: Flag = Field(  # noqa: N815 - the wire name
        False, description="Adds `next_slot`, the earliest free start time"
    )


class CompanyQuery(QuerySchema):
    forBooking: Flag = Field(  # noqa: N815 - the wire name
        False, description="Adds `next_slot`, the earliest free start time"
    )


class BookServicesQuery(QuerySchema):
    staff_id: Id = Field(0, description="Only this member's services, at their length")
    service_ids: IdList = Field(
        [], description="Services already chosen: only what can be added to them"
    )
    datetime: Moment | None = Field(
        None, description="Only what can be booked then (the location's local time)"
    )
