"""People who work at a location (owners, administrators, team members), their API tokens, and
the history of every change to a booking."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from openbooking.kit.db import utcnow
from openbooking.models.base import Base, Timestamped

ROLE_OWNER = "owner"  # everything at the locations of their chain, or of their locations
ROLE_ADMINISTRATOR = "administrator"  # everything at their locations
ROLE_MEMBER = "member"  # one team member's own appointments and schedule
ROLES = (ROLE_OWNER, ROLE_ADMINISTRATOR, ROLE_MEMBER)


class BusinessUser(Timestamped, Base):
    """A login of the business side. A population of its own: customers never log in here."""

    __tablename__ = "business_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(16))
    # An owner of a whole chain: every location of the chain, present and future.
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("chains.id"))
    # A team member's own member (their appointments and schedule).
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    password_hash: Mapped[str] = mapped_column(String(255))
    # TOTP (RFC 6238) second factor: the shared secret, and the last time step accepted (a code
    # is used once).
    totp_secret: Mapped[str | None] = mapped_column(String(128))  # kit.crypto.seal
    totp_last_step: Mapped[int | None]
    disabled_at: Mapped[datetime | None]


class BusinessUserLocation(Base):
    """A location an owner or administrator (or the member's own location) may act on."""

    __tablename__ = "business_user_locations"

    user_id: Mapped[int] = mapped_column(ForeignKey("business_users.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(
        ForeignKey("locations.id"), primary_key=True, index=True
    )


class BusinessToken(Base):
    """A business user's API token; only SHA-256 of it is stored."""

    __tablename__ = "business_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("business_users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


ACTOR_CUSTOMER = "customer"
ACTOR_USER = "user"  # a business user
ACTOR_SYSTEM = "system"


class RecordChange(Base):
    """One change to a booking: who made it, when, and what changed."""

    __tablename__ = "record_changes"
    __table_args__ = (Index("ix_record_changes_record_at", "record_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None]  # the customer's or business user's id
    action: Mapped[str] = mapped_column(String(16))  # created, changed, cancelled
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
