"""Online-booking customers, their tokens, and the SMS codes that prove a phone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from openbooking.kit.db import utcnow
from openbooking.models.base import Base, Timestamped

PURPOSE_VERIFY = "verify"  # POST /book_code: log in, or confirm a booking, at that location
PURPOSE_PHONE_CHANGE = "phone_change"  # GET /booking/user/phone_confirmation


class Customer(Timestamped, Base):
    """A person who books online, identified by phone (across all locations)."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    disabled_at: Mapped[datetime | None]


class UserToken(Base):
    """A customer's API token; only SHA-256 of it is stored."""

    __tablename__ = "user_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class VerificationCode(Base):
    """An SMS code, kept only as HMAC(key, purpose, location, phone, code)."""

    __tablename__ = "verification_codes"
    __table_args__ = (Index("ix_verification_codes_lookup", "phone", "purpose", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    phone: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    # The name sent with `book_code`: a customer created by logging in with this code gets it.
    name: Mapped[str] = mapped_column(String(255), default="", server_default="")
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]  # superseded by a newer code, or never delivered


class VerificationFailure(Base):
    """One failed code check, for the guess budgets per phone and address and per address."""

    __tablename__ = "verification_failures"
    __table_args__ = (
        Index("ix_verification_failures_phone_at", "phone", "created_at"),
        Index("ix_verification_failures_client_at", "client", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(16))
    # The client address (an IPv6 client as its /64, `kit.auth.client_address`).
    client: Mapped[str] = mapped_column(String(64), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SmsLog(Base):
    """Every code SMS sent (or attempted), for per-phone and per-location send limits."""

    __tablename__ = "sms_log"
    __table_args__ = (
        Index("ix_sms_log_phone_at", "phone", "created_at"),
        Index("ix_sms_log_location_at", "location_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    phone: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16))
    delivered: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
