"""The business file as pydantic models: the one definition of its shape, defaults and limits.

The published JSON Schema (`docs/business-file.schema.json`) is generated from `BusinessFile`;
`document.py` adds the checks that span several entities (ids, references, overlaps).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from openbooking.catalog.languages import LANGUAGES, available_translations
from openbooking.kit.clock import is_known_zone

SCHEMA_ID = "https://openbooking.dev/schemas/business-file.json"
MAX_ID = 2**31 - 1  # the database's integer columns
MAX_DURATION = 365 * 24 * 3600
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_STEPS = ("service", "master", "datetime", "contact", "confirm")
DURATION_PATTERN = r"^(\d+h(\d+m)?(\d+s)?|\d+m(\d+s)?|\d+s)$"
RANGE_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
CLOCK_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
LOCAL_MOMENT_PATTERN = r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d$"
MAX_SESSION = 24 * 3600
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_DATE = re.compile(DATE_PATTERN)
_RANGE = re.compile(RANGE_PATTERN)

# Union members carry a tag in pydantic's error locations; tags start with "<" so that
# `document` can drop them from the paths it reports.
TAG_PREFIX = "<"


def seconds(value: int | str) -> int:
    """Seconds of a duration: an integer, or hours, minutes and seconds such as "1h30m"."""
    if isinstance(value, int):
        return value
    match = _DURATION.match(value)
    if not value or match is None:
        raise ValueError(f"{value!r} is not a duration")
    hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + secs


def _duration(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if len(value) > 16 or not re.match(DURATION_PATTERN, value):
        raise PydanticCustomError(
            "duration",
            "{value} is not a duration: give seconds as an integer, or e.g. 45m, 1h30m, 90s",
            {"value": repr(value)},
        )
    return seconds(value)


def _date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("date", "{value} is not a date (YYYY-MM-DD)", {"value": repr(value)})


def _range(value: str) -> str:
    if not _RANGE.match(value):
        raise PydanticCustomError(
            "range", "{value} is not a range HH:MM-HH:MM (00:00 to 24:00)", {"value": repr(value)}
        )
    return value


def _known_zone(value: str) -> str:
    if not is_known_zone(value):
        raise PydanticCustomError("zone", "{value} is not an IANA zone", {"value": repr(value)})
    return value


def _language(value: str) -> str:
    """A language the widget knows (`LANGUAGES`) and has a string table for."""
    tables = ", ".join(sorted(available_translations()))
    if value not in LANGUAGES:
        raise PydanticCustomError(
            "language",
            "unknown language {value}; languages with strings: {tables}",
            {"value": repr(value), "tables": tables},
        )
    if value not in available_translations():
        raise PydanticCustomError(
            "language",
            "no widget strings for {value}; languages with strings: {tables}",
            {"value": repr(value), "tables": tables},
        )
    return value


def _not_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("null", "leave the field out rather than null")
    return value


NOT_NULL = BeforeValidator(_not_null)


def _by_type(value: Any) -> str | None:
    """The tag of a union member chosen by the input's JSON type."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return "<integer>"
    if isinstance(value, str):
        return "<string>"
    if isinstance(value, list):
        return "<list>"
    if isinstance(value, dict):
        return "<object>"
    return None


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Text = Annotated[str, Field(max_length=255)]
Title = Annotated[str, Field(min_length=1, max_length=255)]
LongText = Annotated[str, Field(max_length=20000)]
Url = Annotated[str, Field(max_length=1024)]
ApiId = Annotated[str, Field(max_length=64)]
Phone = Annotated[str, Field(max_length=32)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Colour = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")]
Origin = Annotated[str, Field(pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", max_length=255)]
Palette = Annotated[str, Field(max_length=32)]
Gender = Literal["any", "male", "female"]
Money = Annotated[float, Field(ge=0)]
Duration = Annotated[
    int,
    BeforeValidator(_duration),
    Field(ge=0, le=MAX_DURATION),
    WithJsonSchema(
        {
            "description": 'Seconds as an integer, or a string such as "45m", "1h30m", "90s".',
            "oneOf": [
                {"type": "integer", "minimum": 0, "maximum": MAX_DURATION},
                {"type": "string", "pattern": DURATION_PATTERN, "maxLength": 16},
            ],
        }
    ),
]
Range = Annotated[
    str,
    AfterValidator(_range),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": RANGE_PATTERN,
            "description": "Local wall-clock interval HH:MM-HH:MM; the end may be 24:00.",
        }
    ),
]
Date = Annotated[
    date,
    BeforeValidator(_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]
Language = Annotated[
    str,
    Field(max_length=16, json_schema_extra={"enum": sorted(available_translations())}),
    AfterValidator(_language),
]
Zone = Annotated[
    str,
    Field(max_length=64, description="IANA time zone, e.g. Europe/Berlin."),
    AfterValidator(_known_zone),
]


class Strict(BaseModel):
    """No unknown keys, no type coercion (a quoted number stays a string)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Chain(Strict):
    id: Id
    title: Title


class Coordinates(Strict):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class Reviews(Strict):
    """Reviews after a visit (docs/activities.md)."""

    sms_request: bool = Field(
        True,
        description="After each visit, send the customer one SMS with a link to review it "
        "(through `openbooking reviews run`).",
    )


class Booking(Strict):
    """A location's online-booking rules."""

    phone_confirmation: bool = False
    comment_required: bool = False
    email_required: bool = False
    comment_input_name: Text = ""
    notify_text: LongText = ""
    allow_delete_record: bool = True
    allow_delete_record_delay_step: Duration = 0
    allow_change_record: bool = True
    allow_change_record_delay_step: Duration = 0
    min_notice: Duration = 0
    horizon_days: Annotated[int, Field(ge=1, le=730)] = 60
    slot_step: Duration = Field(900, description="Grid of offered start times; 0 means 15m.")
    phone_blacklist: Annotated[list[Phone], Field(max_length=10000)] = []
    sms_countries: Annotated[
        list[CountryCode],
        Field(
            max_length=250,
            description="ISO country codes whose phones may receive SMS codes; "
            "default: the location's country_code.",
        ),
    ] = []
    sms_daily_budget: Annotated[
        int | None, Field(ge=0, description="Code SMS per 24 h at this location."), NOT_NULL
    ] = None
    sms_confirmation: bool = Field(
        True, description="Send an SMS when an appointment is booked or moved."
    )
    sms_cancellation: bool = Field(
        True, description="Send an SMS when an appointment is cancelled."
    )
    sms_reminders: bool = Field(
        True, description="Send the reminders customers ask for with notify_by_sms."
    )


WebhookEvent = Literal["record.created", "record.changed", "record.cancelled", "event.booked"]
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = (
    "record.created",
    "record.changed",
    "record.cancelled",
    "event.booked",
)


class Webhook(Strict):
    """An integrator's endpoint, called (signed) on the events it lists."""

    url: Annotated[str, Field(max_length=1024, pattern=r"^https?://[^\s]+$")]
    events: Annotated[list[WebhookEvent], Field(min_length=1, max_length=4)] = Field(
        list(WEBHOOK_EVENTS), description="Default: all of them."
    )
    secret_version: Annotated[int, Field(ge=1, le=1000000)] = Field(
        1,
        description="Raise it to rotate the signing secret (`openbooking webhooks secrets`).",
    )


class Notifications(Strict):
    """E-mail notices, calendar feeds and webhooks of a location (docs/business-api.md)."""

    email_confirmation: bool = Field(
        True, description="E-mail customers who asked for it when they book or move a visit."
    )
    email_cancellation: bool = Field(True, description="E-mail them when a visit is cancelled.")
    email_reminders: bool = Field(
        True, description="Send the e-mail reminders customers ask for with notify_by_email."
    )
    email_staff_notices: bool = Field(
        True, description="E-mail a team member (their `email`) about each new booking."
    )
    calendar_phones: bool = Field(
        False,
        description="Show customers' phone numbers in team members' calendar feeds and notices.",
    )
    webhooks: Annotated[list[Webhook], Field(max_length=20)] = []

    @field_validator("webhooks")
    @classmethod
    def _urls_once(cls, hooks: list[Webhook]) -> list[Webhook]:
        urls = [hook.url for hook in hooks]
        if len(urls) != len(set(urls)):
            raise PydanticCustomError("webhooks", "each webhook URL may appear once")
        return hooks


class Category(Strict):
    id: Id
    title: Title
    gender: Gender = "any"
    api_id: ApiId = ""
    weight: int = 0


class Service(Strict):
    id: Id
    title: Title
    category: Id
    duration: Duration
    price_min: Money = 0.0
    price_max: Annotated[Money | None, NOT_NULL] = Field(None, description="Default: price_min.")
    discount: Annotated[float, Field(ge=0, le=100)] = 0.0
    prepaid: Literal["forbidden", "allowed", "required"] = "forbidden"
    gender: Gender = "any"
    image: Url = ""
    weight: int = 0
    active: bool = True
    api_id: ApiId = ""
    comment: LongText = ""

    @field_validator("price_max")
    @classmethod
    def _not_below_min(cls, value: float | None, info: Any) -> float | None:
        if value is not None and value < info.data.get("price_min", 0.0):
            raise PydanticCustomError("price", "must not be below price_min")
        return value

    @property
    def top_price(self) -> float:
        return self.price_min if self.price_max is None else self.price_max


class Position(Strict):
    id: Id
    title: Title


class StaffServiceLink(Strict):
    """A service a member performs, with that member's own duration or prices."""

    service: Id
    duration: Annotated[Duration | None, NOT_NULL] = None
    price_min: Annotated[Money | None, NOT_NULL] = None
    price_max: Annotated[Money | None, NOT_NULL] = Field(
        None, description="Default: this entry's price_min."
    )


StaffService = Annotated[
    Annotated[Id, Tag("<integer>")] | Annotated[StaffServiceLink, Tag("<object>")],
    Discriminator(
        _by_type,
        custom_error_type="staff_service",
        custom_error_message="a service id, or an object with `service`",
    ),
]


class DayHours(Strict):
    """Working hours with explicit breaks."""

    hours: Annotated[
        Annotated[Range, Tag("<string>")]
        | Annotated[list[Range], Tag("<list>"), Field(min_length=1, max_length=24)],
        Discriminator(
            _by_type,
            custom_error_type="hours",
            custom_error_message="a range HH:MM-HH:MM or a list of ranges",
        ),
    ]
    breaks: Annotated[list[Range], Field(max_length=24)] = []

    @property
    def hour_ranges(self) -> list[str]:
        return [self.hours] if isinstance(self.hours, str) else self.hours


Day = Annotated[
    Annotated[list[Range], Tag("<list>"), Field(max_length=24)]
    | Annotated[DayHours, Tag("<object>")],
    Discriminator(
        _by_type,
        custom_error_type="day",
        custom_error_message="a day is a list of ranges, or {hours, breaks}",
    ),
    Field(
        description="A working day: a list of ranges (the gaps are breaks), "
        "or hours with explicit breaks."
    ),
]


class Weekly(Strict):
    mon: Annotated[Day | None, NOT_NULL] = None
    tue: Annotated[Day | None, NOT_NULL] = None
    wed: Annotated[Day | None, NOT_NULL] = None
    thu: Annotated[Day | None, NOT_NULL] = None
    fri: Annotated[Day | None, NOT_NULL] = None
    sat: Annotated[Day | None, NOT_NULL] = None
    sun: Annotated[Day | None, NOT_NULL] = None


class ScheduleException(Strict):
    date: Date
    hours: Day


class Schedule(Strict):
    weekly: Weekly = Weekly()
    exceptions: Annotated[
        list[ScheduleException],
        Field(
            max_length=2000,
            description="Dated working hours that replace the weekly ones on that date.",
        ),
    ] = []
    days_off: Annotated[list[Date], Field(max_length=2000)] = []


class StaffMember(Strict):
    id: Id
    name: Title
    specialization: Text = ""
    position: Annotated[Id | None, NOT_NULL] = None
    avatar: Url = ""
    avatar_big: Url = ""
    rating: Annotated[float, Field(ge=0, le=5)] = 0.0
    votes_count: Annotated[int, Field(ge=0)] = 0
    comments_count: Annotated[int, Field(ge=0)] = 0
    show_rating: bool = True
    weight: int = 0
    bookable: bool = True
    information: LongText = ""
    api_id: ApiId = ""
    email: Annotated[str, Field(max_length=254)] = Field(
        "", description="Where this member's new-booking notices go; empty: none."
    )
    services: Annotated[list[StaffService], Field(max_length=5000)] = []
    schedule: Schedule = Schedule()


StepDefault = Annotated[
    Annotated[int, Tag("<integer>"), Field(ge=-1)]
    | Annotated[str, Tag("<string>"), Field(max_length=64)],
    Discriminator(
        _by_type,
        custom_error_type="step_default",
        custom_error_message="an integer (-1: none) or a string",
    ),
]


class Resource(Strict):
    """A room or piece of equipment that group-event sessions take, one session at a time."""

    id: Id
    title: Title


Clock = Annotated[str, Field(pattern=CLOCK_PATTERN, description="Local wall-clock time HH:MM")]
Starts = Annotated[list[Clock], Field(max_length=24)]


class EventWeekly(Strict):
    """Start times of a weekly series, by weekday, in the location's wall-clock time."""

    mon: Starts = []
    tue: Starts = []
    wed: Starts = []
    thu: Starts = []
    fri: Starts = []
    sat: Starts = []
    sun: Starts = []


class Event(Strict):
    """A group event (class, workshop): a one-off session (`at`) or a weekly series (`weekly`),
    led by one team member, with seats for `capacity` customers. See docs/activities.md."""

    id: Id
    service: Id
    staff: Id = Field(description="The team member leading every session.")
    resources: Annotated[list[Id], Field(max_length=20)] = Field(
        [], description="Rooms or equipment every session takes."
    )
    capacity: Annotated[int, Field(ge=1, le=10000)] = Field(description="Seats per session.")
    length: Annotated[Duration | None, NOT_NULL] = Field(
        None, description="Default: the service's duration."
    )
    price_min: Annotated[Money | None, NOT_NULL] = Field(
        None, description="Price of a seat; default: the service's."
    )
    price_max: Annotated[Money | None, NOT_NULL] = Field(None, description="Default: price_min.")
    color: Colour | Literal[""] = ""
    font_color: Colour | Literal[""] = ""
    instructions: LongText = ""
    labels: Annotated[list[Text], Field(max_length=20)] = []
    stream_link: Url = ""
    at: Annotated[str | None, Field(pattern=LOCAL_MOMENT_PATTERN), NOT_NULL] = Field(
        None, description="A one-off session: local start YYYY-MM-DDTHH:MM."
    )
    weekly: Annotated[EventWeekly | None, NOT_NULL] = Field(
        None, description="A weekly series: local start times by weekday."
    )
    start_date: Annotated[Date | None, NOT_NULL] = Field(
        None, description="The series' first day (default: open)."
    )
    end_date: Annotated[Date | None, NOT_NULL] = Field(
        None, description="The series' last day (default: open)."
    )


class Step(Strict):
    step: Literal["city", "company", "service", "master", "datetime", "contact", "confirm"]
    title: Text = ""
    hidden: bool = False
    default: StepDefault = Field(
        -1, description="Preselected value: a service id (service), a staff id (master); -1: none."
    )
    category_view_type: Annotated[str, Field(max_length=32)] = "list"
    date_hidden: bool = False
    time_hidden: bool = False
    date_default: Annotated[str, Field(max_length=40)] = ""
    time_default: Annotated[int, Field(ge=0, le=86399)] = 0


class Style(Strict):
    show_header: bool = True
    logo: Url = ""
    header_background: Url = ""
    menu_background: Url = ""
    main_color: Colour = "#2E7D32"
    secondary_color: Colour = "#9E9E9E"
    buttons_color: Colour = "#FFFFFF"
    primaryPalette: Palette = "green"  # noqa: N815 - the vendor's field names
    accentPalette: Palette = "grey"  # noqa: N815
    warnPalette: Palette = "red"  # noqa: N815
    backgroundPalette: Palette = "grey"  # noqa: N815
    main_color_theme: Palette = "light"


class Analytics(Strict):
    google_analytics_id: Annotated[ApiId | None, NOT_NULL] = None
    facebook_pixel_id: Annotated[ApiId | None, NOT_NULL] = None
    metrika_counter_id: Annotated[int | None, Field(ge=0), NOT_NULL] = None
    app_metrika_id: Annotated[ApiId | None, NOT_NULL] = None
    vkontakte_pixel_id: Annotated[ApiId | None, NOT_NULL] = None


class Bookform(Strict):
    """A booking form (widget) of one location, or of the whole chain."""

    id: Id
    title: Text = ""
    lang: Annotated[Language | None, NOT_NULL] = Field(
        None, description="Default: the location's language (en-US for chain forms)."
    )
    langs: Annotated[list[Language] | None, Field(max_length=32), NOT_NULL] = Field(
        None, description="Default: [lang]."
    )
    steps: Annotated[list[Step], Field(max_length=10)] = Field(
        [], description="Default: service, master, datetime, contact, confirm."
    )
    style: Style = Style()
    analytics: Analytics = Analytics()
    privacy_policy: bool = Field(
        False, description="Show the location's privacy policy with a consent box."
    )
    notify_text: LongText = ""
    comment_input_name: Text = ""
    specialization_display: Literal["specialization", "position"] = "specialization"
    sms_enabled: bool = True
    embed_origins: Annotated[list[Origin], Field(max_length=50)] = Field(
        [],
        description="Origins whose pages may frame the widget page (`https://shop.example`);"
        " the widget's own origin always may.",
    )

    @field_validator("steps")
    @classmethod
    def _steps_once(cls, steps: list[Step]) -> list[Step]:
        names = [step.step for step in steps]
        if len(names) != len(set(names)):
            raise PydanticCustomError("steps", "each step may appear once")
        return steps


class Location(Strict):
    id: Id
    title: Title
    timezone: Zone
    short_descr: Text = ""
    description: LongText = ""
    logo: Url = ""
    address: Annotated[str, Field(max_length=512)] = ""
    city: Text = ""
    country: Text = ""
    country_code: CountryCode | Literal[""] = ""
    zip: Annotated[str, Field(max_length=32)] = ""
    phones: Annotated[list[Phone], Field(max_length=10)] = []
    site: Url = ""
    email: Annotated[str, Field(max_length=254)] = ""
    coordinates: Coordinates = Coordinates(lat=0.0, lon=0.0)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    language: Language = "en-US"
    group_priority: Annotated[int, Field(ge=0, le=1000000)] = 0
    active: bool = True
    privacy_policy: LongText = ""
    booking: Booking = Booking()
    reviews: Reviews = Reviews()
    notifications: Notifications = Notifications()
    categories: Annotated[list[Category], Field(max_length=1000)] = []
    services: Annotated[list[Service], Field(max_length=5000)] = []
    positions: Annotated[list[Position], Field(max_length=1000)] = []
    staff: Annotated[list[StaffMember], Field(max_length=2000)] = []
    bookforms: Annotated[list[Bookform], Field(max_length=100)] = []
    resources: Annotated[list[Resource], Field(max_length=1000)] = []
    events: Annotated[list[Event], Field(max_length=1000)] = []


class BusinessFile(Strict):
    """One chain (with its locations) or one location: everything a customer can book.

    See docs/business-file.md.
    """

    model_config = ConfigDict(title="OpenBooking business file")

    version: Annotated[Literal[1] | None, NOT_NULL] = None
    chain: Annotated[Chain | None, NOT_NULL] = None
    bookforms: list[Bookform] = Field(
        [], description="Booking forms of the whole chain (they need `chain`)."
    )
    locations: Annotated[list[Location], Field(min_length=1, max_length=1000)]


class _FileSchema(GenerateJsonSchema):
    """Optional fields are left out rather than set to null: the schema offers no null."""

    def field_title_should_be_set(self, schema: Any) -> bool:  # noqa: ARG002
        return False

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        default = json_schema.get("default", ...)
        if default is None:
            del json_schema["default"]
        elif isinstance(default, dict):
            json_schema["default"] = {k: v for k, v in default.items() if v is not None}
        return json_schema


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the business file, as published in docs/business-file.schema.json."""
    schema = BusinessFile.model_json_schema(schema_generator=_FileSchema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
