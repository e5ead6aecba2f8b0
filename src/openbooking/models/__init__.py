"""All tables, imported here so that `Base.metadata` is complete for alembic and tests."""

from openbooking.models.base import Base
from openbooking.models.catalog import (
    Bookform,
    CatalogVersion,
    Chain,
    DayOff,
    Location,
    Position,
    ScheduleInterval,
    Service,
    ServiceCategory,
    Staff,
    StaffService,
)
from openbooking.models.customers import (
    Customer,
    SmsLog,
    UserToken,
    VerificationCode,
    VerificationFailure,
)
from openbooking.models.notifications import CalendarToken, OutboxMessage
from openbooking.models.partners import PartnerToken
from openbooking.models.records import Client, IdempotentRequest, Record, RecordService

__all__ = [
    "Base",
    "Bookform",
    "CalendarToken",
    "CatalogVersion",
    "Chain",
    "Client",
    "Customer",
    "DayOff",
    "IdempotentRequest",
    "Location",
    "OutboxMessage",
    "PartnerToken",
    "Position",
    "Record",
    "RecordService",
    "ScheduleInterval",
    "Service",
    "ServiceCategory",
    "SmsLog",
    "Staff",
    "StaffService",
    "UserToken",
    "VerificationCode",
    "VerificationFailure",
]
