"""Catalog queries, and the catalog's answers as the references type them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, RootModel

from openbooking.kit.envelope import Absent, Answer
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
    my: Flag = Field(
        False,
        description="Only the business user's own locations (needs their `User` token)",
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


# Answers ---------------------------------------------------------------------------------------
# What `catalog.render` sends (docs/api-compat.md); where the dialects differ, `...Y` is the
# YCLIENTS shape.


class BookformStep(Answer):
    step: str = Field(examples=["service"])
    title: str
    num: int
    hidden: bool
    default: int | str = Field(description="-1 when unset")
    is_title_default: bool
    category_view_type: str | Absent = Field(None, description="On the `service` step only")
    date_hidden: bool | Absent = Field(None, description="On the `datetime` step only")
    time_hidden: bool | Absent = Field(None, description="On the `datetime` step only")
    date_default: str | Absent = Field(None, description="On the `datetime` step only")
    time_default: int | Absent = Field(
        None, description="On the `datetime` step only: seconds since midnight"
    )


class BookformStyle(Answer):
    show_header: bool
    logo: str
    header_background: str
    menu_background: str
    main_color: str
    secondary_color: str
    buttons_color: str
    logo_full: str
    header_background_full: str
    menu_background_full: str
    primaryPalette: str  # noqa: N815 - the wire name
    accentPalette: str  # noqa: N815
    warnPalette: str  # noqa: N815
    backgroundPalette: str  # noqa: N815
    main_color_theme: str
    header_background_new: dict[str, Any] | list[Any]


class Language(Answer):
    id: int = Field(description="The vendor's language id (0 when it has none)")
    code: str = Field(examples=["en-US"])
    title: str


class _Bookform(Answer):
    id: int
    url: str
    steps: list[BookformStep]
    style: BookformStyle
    group_id: int = Field(description="The chain of a chain form, else 0")
    company_id: int
    chain_main_salon_id: int
    phone_confirmation: bool
    lang: str
    langs: list[Language]
    comment_required: bool
    comment_input_name: str
    booking_notify_text: str
    google_analytics_id: str
    facebook_pixel_id: str
    sms_enabled: bool
    is_show_privacy_policy: bool
    specialization_display_mode: int
    staff_name: dict[str, Any]
    without_menu: bool
    sequence_type: str
    client_scripts: str
    y_injection: str
    first_service_category_close: bool
    map: dict[str, Any]
    salon_select_type_code: str
    is_client_agreements_feature_enabled: bool
    ab_test_enabled: bool
    ab_test_percentage: int
    is_online_sale_available: bool
    legal_info: dict[str, Any] | None
    online_sales_links: list[Any]
    google_analytics_client_id_index: str | None
    brand: dict[str, Any]
    injection: dict[str, Any]
    display_activity_type: str
    is_multiple_activity_record: bool
    activity_record_count: int
    weekly_view_enabled: bool
    show_weekly_view_without_online_booking: bool
    weekly_view_default_salon_id: int | None
    record_type_id: int | None
    features: dict[str, Any]
    certificate_count: int
    abonement_count: int


class Bookform(_Bookform):
    metrika_counter_id: int | None
    app_metrika_id: str | None


class BookformY(_Bookform):
    metrika_counter_id: str = Field(description='`""` when unset')
    app_metrika_id: str = Field(description='`""` when unset')
    vkontakte_pixel_id: str = Field(description='`""` when unset')


class Translations(RootModel[dict[str, "str | Translations"]]):
    """The widget strings: a tree of objects whose leaves are strings."""


class Agreement(Answer):
    content: str = Field(description='`""` when the location has no policy')


class PrivacyPolicy(Answer):
    agreement: Agreement


class _Location(Answer):
    id: int
    title: str
    short_descr: str
    logo: str
    active: Literal["0", "1"]
    phone: str
    phones: list[str]
    country_id: int
    country: str
    city_id: int
    city: str
    schedule: str
    timezone_name: str = Field(examples=["Europe/Berlin"])
    address: str
    coordinate_lat: float
    coordinate_lon: float
    phone_confirmation: bool
    active_staff_count: int
    app_ios: str
    app_android: str
    currency_short_title: str
    group_priority: int
    site: str
    booking_comment_required: bool
    booking_email_required: bool
    booking_comment_input_name: str
    booking_notify_text: str
    reminds_sms_disabled: bool
    allow_delete_record: bool
    allow_delete_record_delay_step: int
    allow_change_record: bool
    allow_change_record_delay_step: int
    main_group_id: int
    next_slot: str | Absent = Field(
        None, description='With `forBooking=1` only: the earliest free start, `""` when none'
    )


NUMBER_OFFSET = "The current UTC offset of `timezone_name`, in hours"


class LocationSummary(_Location):
    timezone: str = Field(description=NUMBER_OFFSET, examples=["-5", "5.5"])


class LocationSummaryY(_Location):
    timezone: float = Field(description=NUMBER_OFFSET, examples=[-5, 5.5])


class Social(Answer):
    telegram: str
    instagram: str
    vk: str
    facebook: str
    viber: str
    whatsapp: str


class Group(Answer):
    id: int
    title: str


class LocationBookform(Answer):
    id: int
    title: str
    is_default: Literal[0, 1]
    url: str


class _LocationDetail(Answer):
    description: str
    social: Social
    business_type_id: int
    push_notification_phone_confirm: bool
    main_group: list[Group] = Field(description="The chain, or `[]`")
    groups: dict[str, Group] = Field(description="The chain by its id, or `{}`")
    bookforms: list[LocationBookform]
    online_sales_form_url: str
    access: dict[str, Any]


class Location(_LocationDetail, LocationSummary):
    zip: str


class LocationY(_LocationDetail, LocationSummaryY):
    zip: int | str = Field(
        description="A number when all digits without a leading zero, else a string"
    )


class Category(Answer):
    id: int
    title: str
    gender: int
    sex: int = Field(description="The same as `gender`")
    api_id: str
    weight: int


class BookService(Answer):
    id: int
    title: str
    category_id: int
    price_min: float
    price_max: float
    discount: float
    comment: str
    weight: int
    active: Literal[0, 1]
    gender: int
    sex: int = Field(description="The same as `gender`")
    image: str
    images: list[str]
    prepaid: str
    seance_length: int = Field(description="Seconds (the member's own with `staff_id`)")
    abonement_restriction: int
    prepaid_settings: dict[str, Any]
    is_composite: bool
    is_chain: bool
    composite_details: dict[str, Any] | None
    api_id: str


class BookServices(Answer):
    events: list[Any]
    services: list[BookService]
    category: list[Category]
