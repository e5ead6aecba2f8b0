"""All tables, imported here so that `Base.metadata` is complete for alembic and tests."""

from openbooking.models.activities import Event, EventSession, Resource
from openbooking.models.base import Base
from openbooking.models.business_users import (
    BusinessToken,
    BusinessUser,
    BusinessUserLocation,
    RecordChange,
)
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
from openbooking.models.records import (
    BusyVersion,
    Client,
    IdempotentRequest,
    Record,
    RecordService,
)
from openbooking.models.reviews import Review, StaffRating

__all__ = [
    "Base",
    "Bookform",
    "BusinessToken",
    "BusinessUser",
    "BusinessUserLocation",
    "BusyVersion",
    "CalendarToken",
    "CatalogVersion",
    "Chain",
    "Client",
    "Customer",
    "DayOff",
    "Event",
    "EventSession",
    "IdempotentRequest",
    "Location",
    "OutboxMessage",
    "PartnerToken",
    "Position",
    "Record",
    "RecordChange",
    "RecordService",
    "Resource",
    "Review",
    "ScheduleInterval",
    "Service",
    "ServiceCategory",
    "SmsLog",
    "Staff",
    "StaffRating",
    "StaffService",
    "UserToken",
    "VerificationCode",
    "VerificationFailure",
]
