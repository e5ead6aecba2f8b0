"""Reviews after a visit, and the rating totals they feed.

Neither table is one of `catalog.VERSIONED_TABLES`: a review changes no catalog version, so the
availability cache of every process stays valid (docs/activities.md, "Reviews after a visit").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openbooking.models.base import Base


class Review(Base):
    """One per visit: the review request sent after it (the link's token only as a keyed digest)
    and, once the customer has answered, the review. The row is inserted when `openbooking
    reviews run` claims the visit, so a visit is claimed, and texted, once."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_staff_submitted", "staff_id", "submitted_at"),)

    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    requested_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    rating: Mapped[int | None]
    text: Mapped[str] = mapped_column(Text, default="")
    tips_amount: Mapped[float] = mapped_column(default=0.0)
    submitted_at: Mapped[datetime | None]


class StaffRating(Base):
    """What the reviews of a member add up to, kept beside (not in) the versioned `staff` row and
    updated in each review's transaction; the views add it to the business file's figures."""

    __tablename__ = "staff_ratings"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    votes: Mapped[int] = mapped_column(default=0)
    rating_sum: Mapped[int] = mapped_column(default=0)
    comments: Mapped[int] = mapped_column(default=0)
