"""Verification SQL: codes, failures, the SMS log, customers and their tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select, text, update

from openbooking.models import Customer, SmsLog, UserToken, VerificationCode, VerificationFailure

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession


async def lock_phone(session: AsyncSession, phone: str) -> None:
    """Serialise work on one phone across processes (PostgreSQL; SQLite writers are serial)."""
    await _advisory_lock(session, phone)


async def lock_client(session: AsyncSession, client: str) -> None:
    """Serialise code checks from one client address (taken before the phone's lock)."""
    await _advisory_lock(session, f"client {client}")


async def _advisory_lock(session: AsyncSession, key: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


async def sends_since(session: AsyncSession, phone: str, since: datetime) -> Sequence[datetime]:
    """When code SMS went to `phone` since `since`, newest first."""
    rows = await session.scalars(
        select(SmsLog.created_at)
        .where(SmsLog.phone == phone, SmsLog.created_at > since)
        .order_by(SmsLog.created_at.desc())
    )
    return rows.all()


async def location_sends_since(
    session: AsyncSession, location_id: int, since: datetime
) -> tuple[int, datetime | None]:
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(SmsLog.created_at)).where(
                SmsLog.location_id == location_id, SmsLog.created_at > since
            )
        )
    ).one()
    return int(count), oldest


async def failures_since(
    session: AsyncSession, phone: str, client: str, since: datetime
) -> Sequence[datetime]:
    """When checks of `phone` from `client` failed since `since`, oldest first."""
    rows = await session.scalars(
        select(VerificationFailure.created_at)
        .where(
            VerificationFailure.phone == phone,
            VerificationFailure.client == client,
            VerificationFailure.created_at > since,
        )
        .order_by(VerificationFailure.created_at)
    )
    return rows.all()


async def client_failures_since(
    session: AsyncSession, client: str, since: datetime
) -> Sequence[datetime]:
    """When checks from `client`, of any phone, failed since `since`, oldest first."""
    rows = await session.scalars(
        select(VerificationFailure.created_at)
        .where(VerificationFailure.client == client, VerificationFailure.created_at > since)
        .order_by(VerificationFailure.created_at)
    )
    return rows.all()


async def kill_codes(session: AsyncSession, phone: str, purpose: str, now: datetime) -> None:
    """A new code makes every earlier one of the same phone and purpose useless."""
    await session.execute(
        update(VerificationCode)
        .where(
            VerificationCode.phone == phone,
            VerificationCode.purpose == purpose,
            VerificationCode.used_at.is_(None),
            VerificationCode.dead_at.is_(None),
        )
        .values(dead_at=now)
    )


async def live_code(
    session: AsyncSession, phones: Sequence[str], purpose: str, now: datetime
) -> VerificationCode | None:
    return await session.scalar(
        select(VerificationCode)
        .where(
            VerificationCode.phone.in_(phones),
            VerificationCode.purpose == purpose,
            VerificationCode.used_at.is_(None),
            VerificationCode.dead_at.is_(None),
            VerificationCode.expires_at > now,
        )
        .order_by(VerificationCode.created_at.desc())
        .limit(1)
    )


async def count_attempt(session: AsyncSession, code_id: int, max_attempts: int) -> bool:
    """Take one attempt, atomically and before any comparison; False once they are used up."""
    result = await session.execute(
        update(VerificationCode)
        .where(VerificationCode.id == code_id, VerificationCode.attempts < max_attempts)
        .values(attempts=VerificationCode.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def consume(session: AsyncSession, code_id: int, now: datetime) -> bool:
    """Mark the code used; exactly one of any number of racing callers gets True."""
    result = await session.execute(
        update(VerificationCode)
        .where(VerificationCode.id == code_id, VerificationCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def customer_by_phone(session: AsyncSession, phone: str) -> Customer | None:
    return await session.scalar(select(Customer).where(Customer.phone == phone))


async def customer_by_login(
    session: AsyncSession, phones: Sequence[str], email: str
) -> Customer | None:
    return await session.scalar(
        select(Customer).where(Customer.phone.in_(phones) | (Customer.email == email)).limit(1)
    )


async def token_owner(session: AsyncSession, digest: str, now: datetime) -> Customer | None:
    return await session.scalar(
        select(Customer)
        .join(UserToken, UserToken.customer_id == Customer.id)
        .where(
            UserToken.token_sha256 == digest,
            UserToken.revoked_at.is_(None),
            UserToken.expires_at > now,
            Customer.disabled_at.is_(None),
        )
    )


async def revoke_tokens(
    session: AsyncSession, customer_id: int, now: datetime, *, keep: str | None = None
) -> int:
    """Revoke the customer's live tokens, except the one whose digest is `keep`."""
    query = update(UserToken).where(
        UserToken.customer_id == customer_id, UserToken.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserToken.token_sha256 != keep)
    result = await session.execute(query.values(revoked_at=now))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def mark_undelivered(session: AsyncSession, code_id: int, log_id: int, now: datetime) -> None:
    """The gateway refused the SMS: its code dies, and the send is logged as undelivered."""
    await session.execute(
        update(VerificationCode).where(VerificationCode.id == code_id).values(dead_at=now)
    )
    await session.execute(update(SmsLog).where(SmsLog.id == log_id).values(delivered=False))
