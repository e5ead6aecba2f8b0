"""The booking error codes (431-438) and the one body that old and new clients both read."""

from __future__ import annotations

from typing import ClassVar

from openbooking.kit.errors import ApiError

NO_SERVICES = 422
BAD_PHONE = 431
BAD_CODE = 432
TAKEN = 433
BLACKLISTED = 434
NO_NAME = 435
NOBODY_FREE = 436
OVERLAP = 437
NOT_BOOKABLE = 438
# Group events (docs/activities.md); the vendors document no codes for these.
NO_PLACES = 441
EVENT_CLOSED = 442
ALREADY_BOOKED = 443

MESSAGES = {
    NO_SERVICES: "No services or promotions set.",
    BAD_PHONE: "The phone number has an invalid format.",
    BAD_CODE: "Invalid code from SMS.",
    TAKEN: "The selected time is already taken or is not working.",
    BLACKLISTED: "Online booking is not available for this phone number.",
    NO_NAME: "The client's name is required.",
    NOBODY_FREE: "No team members available for booking.",
    OVERLAP: "Appointments of this request overlap each other.",
    NOT_BOOKABLE: "There is no appointment for the specified service.",
    NO_PLACES: "No places left.",
    EVENT_CLOSED: "This event has already started, or was cancelled.",
    ALREADY_BOOKED: "This phone has already booked this event; cancel that booking to book "
    "a different number of seats.",
}


class BookingError(ApiError):
    """A business code in `meta.errors[]` (v2) and in a top-level `errors` object (legacy)."""

    status_code: ClassVar[int] = 422

    def __init__(self, code: int, appointment_id: int | None = None, detail: str = "") -> None:
        message = detail or MESSAGES[code]
        error: dict[str, object] = {"code": code, "message": message}
        if appointment_id is not None:
            error["id"] = appointment_id
        super().__init__(message, errors=[error], legacy=dict(error))
        self.code = code


class Blacklisted(BookingError):
    status_code = 403

    def __init__(self) -> None:
        super().__init__(BLACKLISTED)


class NotAllowed(ApiError):
    """Cancel or reschedule refused by the location's rules."""

    status_code = 403
