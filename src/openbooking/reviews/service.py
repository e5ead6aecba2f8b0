"""Review rules: the link's token, one review per visit, and the ratings the views show.

The link's token is 16 URL-safe characters from `secrets` (96 bits); only its keyed digest is
stored. A link works for `LINK_DAYS` days after its SMS. A review adds to the member's totals in
`staff_ratings`, which is not a versioned catalog table: it changes no catalog version, so no
process's availability cache is invalidated by a review.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from openbooking.kit.clock import now as clock_now
from openbooking.kit.crypto import keyed_digest
from openbooking.kit.errors import ApiError, NotFound
from openbooking.reviews import render, repository

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.kit.envelope import Dialect
    from openbooking.reviews.schemas import ReviewBody

LINK_DAYS = 14
TOKEN_BYTES = 12  # 16 characters
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$", re.ASCII)
UNKNOWN_LINK = "This review link does not exist or has expired."
ALREADY_REVIEWED = "A review of this visit has already been submitted."
NO_PAYMENT = (
    "Thank you for your review. Tips are recorded for the team member; "
    "no payment is taken online: please tip at the location."
)


class AlreadyReviewed(ApiError):
    """409: one review per visit."""

    status_code: ClassVar[int] = 409
    default_message: ClassVar[str] = ALREADY_REVIEWED

    def __init__(self) -> None:
        super().__init__(errors=[{"code": 409, "message": ALREADY_REVIEWED}])


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(key: bytes, token: str) -> str:
    return keyed_digest(key, "review", token)


@dataclass(frozen=True, slots=True)
class Rating:
    """What a member's views show: the business file's figures plus the reviews'."""

    rating: float
    votes_count: int
    comments_count: int


def combined(
    rating: float, votes: int, comments: int, totals: tuple[int, int, int] | None
) -> Rating:
    """The file's `rating` over its `votes`, averaged with the reviews' votes."""
    if totals is None:
        return Rating(rating, votes, comments)
    added_votes, added_sum, added_comments = totals
    all_votes = votes + added_votes
    average = (rating * votes + added_sum) / all_votes if all_votes else rating
    return Rating(round(average, 2), all_votes, comments + added_comments)


async def totals(
    session: AsyncSession, staff_ids: Sequence[int]
) -> dict[int, tuple[int, int, int]]:
    """The reviews' votes, sum of ratings and comments per member (one indexed lookup)."""
    return await repository.totals(session, staff_ids)


async def _open(session: AsyncSession, key: bytes, token: str, *, for_update: bool = False) -> Any:
    if not _TOKEN.match(token):
        raise NotFound(UNKNOWN_LINK)
    found = await repository.by_token(
        session, token_digest(key, token), clock_now(), for_update=for_update
    )
    if found is None:
        raise NotFound(UNKNOWN_LINK)
    return found


async def form(session: AsyncSession, key: bytes, token: str, dialect: Dialect) -> dict[str, Any]:
    """The review form's state (spec §G)."""
    review, record, location, staff, position = await _open(session, key, token)
    mine = (await totals(session, [staff.id])).get(staff.id)
    rating = combined(staff.rating, staff.votes_count, staff.comments_count, mine)
    cost = await repository.cost(session, record.id)
    return render.form(review, record, location, staff, position, rating, cost, dialect)


async def submit(session: AsyncSession, key: bytes, token: str, body: ReviewBody) -> dict[str, Any]:
    """Store the visit's one review and count it in the member's totals, in one transaction."""
    review, *_ = await _open(session, key, token, for_update=True)
    text = body.text or ""
    stored = await repository.submit(
        session,
        review.record_id,
        rating=body.rating,
        text=text,
        tips_amount=body.tips_amount or 0.0,
        now=clock_now(),
    )
    if not stored:
        raise AlreadyReviewed
    await repository.add_to_totals(session, review.staff_id, body.rating, bool(text))
    return {"charge": None}


def link_expiry(sent_at: Any) -> Any:
    return sent_at + timedelta(days=LINK_DAYS)
