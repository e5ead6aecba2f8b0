"""What a business offers: chains, locations, forms, services, staff and their schedules.

Rows loaded from a business file keep the ids the file gives them, so widget URLs and client
references stay valid across reloads. Rows that vanish from the file are soft-deleted
(`deleted = true`) because records may still point at them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column

from openbooking.models.base import Base, Timestamped


class Chain(Timestamped, Base):
    __tablename__ = "chains"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(255))
    deleted: Mapped[bool] = mapped_column(default=False)


class Location(Timestamped, Base):
    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("chains.id"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    short_descr: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    logo: Mapped[str] = mapped_column(String(1024), default="")
    address: Mapped[str] = mapped_column(String(512), default="")
    city: Mapped[str] = mapped_column(String(255), default="")
    country: Mapped[str] = mapped_column(String(255), default="")
    country_code: Mapped[str] = mapped_column(String(2), default="")
    zip: Mapped[str] = mapped_column(String(32), default="")
    phones: Mapped[list[Any]] = mapped_column(default=list)
    site: Mapped[str] = mapped_column(String(1024), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    coordinate_lat: Mapped[float] = mapped_column(default=0.0)
    coordinate_lon: Mapped[float] = mapped_column(default=0.0)
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    language: Mapped[str] = mapped_column(String(16), default="en-US")
    group_priority: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    deleted: Mapped[bool] = mapped_column(default=False)
    privacy_policy: Mapped[str] = mapped_column(Text, default="")
    # Booking settings.
    phone_confirmation: Mapped[bool] = mapped_column(default=False)
    booking_comment_required: Mapped[bool] = mapped_column(default=False)
    booking_email_required: Mapped[bool] = mapped_column(default=False)
    booking_comment_input_name: Mapped[str] = mapped_column(String(255), default="")
    booking_notify_text: Mapped[str] = mapped_column(Text, default="")
    allow_delete_record: Mapped[bool] = mapped_column(default=True)
    allow_delete_record_delay_step: Mapped[int] = mapped_column(default=0)
    allow_change_record: Mapped[bool] = mapped_column(default=True)
    allow_change_record_delay_step: Mapped[int] = mapped_column(default=0)
    min_notice_seconds: Mapped[int] = mapped_column(default=0)
    horizon_days: Mapped[int] = mapped_column(default=60)
    slot_step_seconds: Mapped[int] = mapped_column(default=900)
    phone_blacklist: Mapped[list[Any]] = mapped_column(default=list)
    # Countries (ISO codes) whose phones may receive codes; empty = the location's own country.
    sms_countries: Mapped[list[Any]] = mapped_column(default=list)
    sms_daily_budget: Mapped[int | None]
    # Booking notifications by SMS: a confirmation, a cancellation notice, and the reminder a
    # customer asks for with `notify_by_sms`.
    sms_confirmation: Mapped[bool] = mapped_column(default=True, server_default=true())
    sms_cancellation: Mapped[bool] = mapped_column(default=True, server_default=true())
    sms_reminders: Mapped[bool] = mapped_column(default=True, server_default=true())
    # An SMS asking for a review after each visit (`openbooking reviews run`).
    review_sms: Mapped[bool] = mapped_column(default=True, server_default=true())
    # E-mail notices (notifications/): to customers who gave an e-mail and asked for it, and to the
    # team member on a new booking; calendar feeds show customers' phones only if allowed.
    email_confirmation: Mapped[bool] = mapped_column(default=True, server_default=true())
    email_cancellation: Mapped[bool] = mapped_column(default=True, server_default=true())
    email_reminders: Mapped[bool] = mapped_column(default=True, server_default=true())
    email_staff_notices: Mapped[bool] = mapped_column(default=True, server_default=true())
    calendar_phones: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Webhook endpoints: [{"url", "events", "secret_version"}] (business file `notifications`).
    webhooks: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")


class Bookform(Timestamped, Base):
    """A booking widget's settings. Belongs to one location, or to a chain (location_id null)."""

    __tablename__ = "bookforms"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("chains.id"), index=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    lang: Mapped[str] = mapped_column(String(16), default="en-US")
    langs: Mapped[list[Any]] = mapped_column(default=list)
    steps: Mapped[list[Any]] = mapped_column(default=list)
    style: Mapped[dict[str, Any]] = mapped_column(default=dict)
    analytics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    comment_input_name: Mapped[str] = mapped_column(String(255), default="")
    booking_notify_text: Mapped[str] = mapped_column(Text, default="")
    is_show_privacy_policy: Mapped[bool] = mapped_column(default=False)
    specialization_display_mode: Mapped[int] = mapped_column(default=0)
    sms_enabled: Mapped[bool] = mapped_column(default=True)
    # Origins (`https://shop.example`) whose pages may frame the widget page.
    embed_origins: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    deleted: Mapped[bool] = mapped_column(default=False)


class ServiceCategory(Timestamped, Base):
    __tablename__ = "service_categories"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    gender: Mapped[int] = mapped_column(default=0)
    api_id: Mapped[str] = mapped_column(String(64), default="")
    weight: Mapped[int] = mapped_column(default=0)
    deleted: Mapped[bool] = mapped_column(default=False)


class Service(Timestamped, Base):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    duration_seconds: Mapped[int]
    price_min: Mapped[float] = mapped_column(default=0.0)
    price_max: Mapped[float] = mapped_column(default=0.0)
    discount: Mapped[float] = mapped_column(default=0.0)
    prepaid: Mapped[str] = mapped_column(String(16), default="forbidden")
    gender: Mapped[int] = mapped_column(default=0)
    image: Mapped[str] = mapped_column(String(1024), default="")
    weight: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    api_id: Mapped[str] = mapped_column(String(64), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    deleted: Mapped[bool] = mapped_column(default=False)


class Position(Timestamped, Base):
    __tablename__ = "positions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    deleted: Mapped[bool] = mapped_column(default=False)


class Staff(Timestamped, Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    position_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id"))
    name: Mapped[str] = mapped_column(String(255))
    specialization: Mapped[str] = mapped_column(String(255), default="")
    avatar: Mapped[str] = mapped_column(String(1024), default="")
    avatar_big: Mapped[str] = mapped_column(String(1024), default="")
    rating: Mapped[float] = mapped_column(default=0.0)
    votes_count: Mapped[int] = mapped_column(default=0)
    comments_count: Mapped[int] = mapped_column(default=0)
    show_rating: Mapped[bool] = mapped_column(default=True)
    weight: Mapped[int] = mapped_column(default=0)
    bookable: Mapped[bool] = mapped_column(default=True)
    information: Mapped[str] = mapped_column(Text, default="")
    api_id: Mapped[str] = mapped_column(String(64), default="")
    deleted: Mapped[bool] = mapped_column(default=False)
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")


class StaffService(Base):
    """Who performs what, with that member's own duration and price (null = the service's)."""

    __tablename__ = "staff_services"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True, index=True)
    duration_seconds: Mapped[int | None]
    price_min: Mapped[float | None]
    price_max: Mapped[float | None]


class ScheduleInterval(Base):
    """One working interval (or break, `is_break`) in a member's local wall-clock time.

    Weekly rows have `weekday` (0 = Monday) and no `date`; dated exceptions have `date`, and
    replace that day's weekly rows entirely. Times are seconds from local midnight.
    """

    __tablename__ = "schedule_intervals"
    __table_args__ = (Index("ix_schedule_intervals_staff_day", "staff_id", "weekday", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    weekday: Mapped[int | None]
    date: Mapped[date | None]
    start_second: Mapped[int]
    end_second: Mapped[int]
    is_break: Mapped[bool] = mapped_column(default=False)


class DayOff(Base):
    __tablename__ = "days_off"
    __table_args__ = (UniqueConstraint("staff_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    date: Mapped[date]


# The tables availability reads. Database triggers (migration 0005) bump `catalog_version` on
# every change to them, whoever makes it: the business loader, an administrator's SQL, a test.
VERSIONED_TABLES = (
    "locations",
    "positions",
    "services",
    "staff",
    "staff_services",
    "schedule_intervals",
    "days_off",
)


class CatalogVersion(Base):
    """One row (id 1) whose `version` changes with every change to `VERSIONED_TABLES`: a process
    that caches what it read from them compares versions to know whether it is still current."""

    __tablename__ = "catalog_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
