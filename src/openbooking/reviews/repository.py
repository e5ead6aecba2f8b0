"""Reviews SQL: visits due a review request, claiming them, the review form's rows, the review
itself and the members' rating totals."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from openbooking.models import (
    Location,
    Position,
    Record,
    RecordService,
    Review,
    Staff,
    StaffRating,
)
from openbooking.models.records import MAX_RECORD_SECONDS, RECORD_ACTIVE

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

NO_SHOW = -1


def _insert(session: AsyncSession) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def visits_due(
    session: AsyncSession, ended_after: datetime, now: datetime, limit: int
) -> list[tuple[Record, Location]]:
    """Visits that ended in (`ended_after`, `now`], not cancelled, not missed, at a location
    that asks for reviews, and not yet claimed; oldest first."""
    rows = await session.execute(
        select(Record, Location)
        .join(Location, Location.id == Record.location_id)
        .outerjoin(Review, Review.record_id == Record.id)
        .where(
            Location.review_sms.is_(True),
            Location.deleted.is_(False),
            # The range on starts_at lets the (location, starts_at) index narrow the scan.
            Record.starts_at > ended_after - timedelta(seconds=MAX_RECORD_SECONDS),
            Record.starts_at <= now,
            Record.ends_at > ended_after,
            Record.ends_at <= now,
            Record.status == RECORD_ACTIVE,
            Record.attendance != NO_SHOW,
            Record.client_phone != "",
            Review.record_id.is_(None),
        )
        .order_by(Record.ends_at, Record.id)
        .limit(limit)
    )
    return [(record, location) for record, location in rows]


async def claim(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[int]:
    """Insert the review rows; a visit another run claimed first is skipped (its primary key
    conflicts), so each visit is claimed once. The record ids claimed here."""
    if not rows:
        return set()
    statement = (
        _insert(session)(Review)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=[Review.record_id])
        .returning(Review.record_id)
    )
    return set(await session.scalars(statement))


async def unclaim(session: AsyncSession, record_id: int, token_digest: str) -> None:
    """Forget a claim whose SMS failed, so that the next run tries again with a new link."""
    await session.execute(
        delete(Review).where(
            Review.record_id == record_id,
            Review.token_digest == token_digest,
            Review.submitted_at.is_(None),
        )
    )


async def by_token(
    session: AsyncSession, token_digest: str, now: datetime, *, for_update: bool = False
) -> tuple[Review, Record, Location, Staff, Position | None] | None:
    """The unexpired review row of a link's token, with what the form shows."""
    query = (
        select(Review, Record, Location, Staff, Position)
        .join(Record, Record.id == Review.record_id)
        .join(Location, Location.id == Review.location_id)
        .join(Staff, Staff.id == Review.staff_id)
        .outerjoin(Position, Position.id == Staff.position_id)
        .where(Review.token_digest == token_digest, Review.expires_at > now)
    )
    if for_update:
        query = query.with_for_update(of=Review)
    row = (await session.execute(query)).first()
    if row is None:
        return None
    review, record, location, staff, position = row
    return review, record, location, staff, position


async def cost(session: AsyncSession, record_id: int) -> float:
    total = await session.scalar(
        select(func.coalesce(func.sum(RecordService.cost), 0.0)).where(
            RecordService.record_id == record_id
        )
    )
    return float(total or 0.0)


async def submit(
    session: AsyncSession,
    record_id: int,
    *,
    rating: int,
    text: str,
    tips_amount: float,
    now: datetime,
) -> bool:
    """Store the review unless the visit has one already (one conditional UPDATE, so two
    racing submissions store one); whether this one was stored."""
    stored = await session.scalars(
        update(Review)
        .where(Review.record_id == record_id, Review.submitted_at.is_(None))
        .values(rating=rating, text=text, tips_amount=tips_amount, submitted_at=now)
        .returning(Review.record_id)
    )
    return stored.first() is not None


async def add_to_totals(session: AsyncSession, staff_id: int, rating: int, comment: bool) -> None:
    """Count one more vote (and comment) for the member, in the review's transaction."""
    statement = _insert(session)(StaffRating).values(
        staff_id=staff_id, votes=1, rating_sum=rating, comments=int(comment)
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[StaffRating.staff_id],
            set_={
                "votes": StaffRating.votes + 1,
                "rating_sum": StaffRating.rating_sum + rating,
                "comments": StaffRating.comments + int(comment),
            },
        )
    )


async def totals(
    session: AsyncSession, staff_ids: Sequence[int]
) -> dict[int, tuple[int, int, int]]:
    """votes, sum of ratings and comments from reviews, of the members that have any."""
    if not staff_ids:
        return {}
    rows = await session.execute(
        select(
            StaffRating.staff_id, StaffRating.votes, StaffRating.rating_sum, StaffRating.comments
        ).where(StaffRating.staff_id.in_(list(staff_ids)))
    )
    return {staff_id: (votes, total, comments) for staff_id, votes, total, comments in rows}
