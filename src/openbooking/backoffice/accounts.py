"""Business users: created, listed and removed from the CLI; logging in with `POST /auth`.

The same rules as customers' passwords (docs/security.md R11-R17): at least 15 characters and
not guessable (zxcvbn), argon2id in the process's bounded pool, failed checks counted per login
and address and per address before argon2 runs (429 with Retry-After), unknown logins cost a
dummy check, tokens of 256 random bits stored as SHA-256 and revocable. A population of its own:
a business token is never a customer's, and the other way round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import pyotp

from openbooking.backoffice import repository
from openbooking.catalog import service as catalog
from openbooking.kit import phones
from openbooking.kit.auth import new_token, token_digest
from openbooking.kit.clock import now as clock_now
from openbooking.kit.crypto import same, seal, unseal
from openbooking.kit.errors import ApiError, InvalidParameter, Unauthorized
from openbooking.models import BusinessToken, BusinessUser
from openbooking.models.business_users import (
    ROLE_ADMINISTRATOR,
    ROLE_MEMBER,
    ROLE_OWNER,
    ROLES,
)
from openbooking.verification import passwords
from openbooking.verification import service as verification

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.kit.db import UnitOfWork
    from openbooking.verification.service import Context

logger = logging.getLogger("openbooking.backoffice")
TOTP_PURPOSE = "business-totp"


class UserError(ValueError):
    """A mistake in a CLI call: one line for the operator."""


class BadCredentials(ApiError):
    status_code = 401
    default_message = "There is no user with this login and password."


@dataclass(frozen=True, slots=True)
class Principal:
    """The business user a request comes from, and what they may act on."""

    id: int
    name: str
    role: str
    staff_id: int | None
    location_ids: frozenset[int]

    @property
    def manager(self) -> bool:
        """Owners and administrators: everything at their locations."""
        return self.role in (ROLE_OWNER, ROLE_ADMINISTRATOR)


async def add_user(  # noqa: PLR0912 - one check per mistake an operator can make
    session: AsyncSession,
    *,
    email: str,
    role: str,
    location_ids: Sequence[int],
    chain_id: int | None,
    staff_id: int | None,
    name: str,
    phone: str | None,
    password_hash: str,
) -> BusinessUser:
    """Add a business user with the hash of the password the operator typed (stdin)."""
    email = email.strip().lower()
    if "@" not in email.strip("@") or len(email) > 254:
        raise UserError("not an e-mail address")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if await repository.user_by_email(session, email) is not None:
        raise UserError("a business user with this e-mail exists")
    normalized_phone = None
    if phone:
        try:
            normalized_phone = phones.normalize(phone, None)
        except phones.PhoneError as exc:
            raise UserError(f"bad phone: {exc}") from None
    for location_id in location_ids:
        if await repository.location(session, location_id) is None:
            raise UserError(f"no location {location_id}")
    if chain_id is not None and role != ROLE_OWNER:
        raise UserError("only an owner has a whole chain")
    if role == ROLE_MEMBER:
        if staff_id is None or len(location_ids) > 1:
            raise UserError("a team member needs --staff (and at most the member's location)")
    elif staff_id is not None:
        raise UserError("--staff is for team members")
    if staff_id is not None:
        member = (await repository.staff_by_ids(session, [staff_id])).get(staff_id)
        if member is None or member.deleted:
            raise UserError(f"no team member {staff_id}")
        if location_ids and member.location_id not in location_ids:
            raise UserError(f"team member {staff_id} works at location {member.location_id}")
        location_ids = [member.location_id]
    if not location_ids and chain_id is None:
        raise UserError("give --location (or --chain for an owner of a chain)")
    if chain_id is not None and await catalog.first_location_of_chain(session, chain_id) is None:
        raise UserError(f"no chain {chain_id}")
    user = BusinessUser(
        email=email,
        phone=normalized_phone,
        name=name,
        role=role,
        chain_id=chain_id,
        staff_id=staff_id,
        password_hash=password_hash,
    )
    session.add(user)
    await session.flush()
    await repository.grant(session, user.id, location_ids)
    logger.info("business user %s added (%s)", user.id, role)
    return user


async def list_users(session: AsyncSession) -> list[tuple[BusinessUser, list[int]]]:
    return [
        (user, await repository.location_ids_of(session, user))
        for user in await repository.users(session)
    ]


async def remove_user(session: AsyncSession, email: str) -> None:
    """Remove the user and every token of theirs (their past changes stay in the history)."""
    user = await repository.user_by_email(session, email.strip().lower())
    if user is None:
        raise UserError("no business user with this e-mail")
    await repository.remove_user(session, user.id)
    logger.info("business user %s removed", user.id)


def password_problem(password: str, email: str, name: str, phone: str | None) -> str | None:
    """Why a new password is refused (the customers' rule), or None."""
    return passwords.problem(password, [email, name, (phone or "").lstrip("+")])


async def issue_token(session: AsyncSession, ttl_days: int, user: BusinessUser) -> str:
    token = new_token()
    now = clock_now()
    session.add(
        BusinessToken(
            user_id=user.id,
            token_sha256=token_digest(token),
            created_at=now,
            expires_at=now + timedelta(days=ttl_days),
        )
    )
    await session.flush()
    return token


async def login(
    work: UnitOfWork,
    ctx: Context,
    login_name: str | None,
    password: str | None,
    code: str | None = None,
) -> tuple[BusinessUser, str]:
    """POST /auth: e-mail or phone, and password, and for a user with a second factor the
    code of their authenticator app. Unknown logins cost a dummy argon2 check; the attempt
    counts against the login's budget until the second factor passes too."""
    if not login_name:
        raise InvalidParameter("login", "is required")
    if not password:
        raise InvalidParameter("password", "is required")
    session = work.session
    candidates = phones.candidates(login_name, await catalog.country_codes(session))
    key = "business " + (candidates[0] if candidates else login_name.strip().lower())
    rule = await verification.password_budget(ctx, key)
    user = await repository.user_by_login(session, candidates, login_name.strip().lower())
    await work.checkpoint()  # no connection waits on argon2
    stored = user.password_hash if user is not None else None
    matches = await verification.check_password(ctx, stored, password)  # always runs argon2
    if user is None or user.disabled_at is not None or not matches:
        logger.info("business login failed from %s", ctx.client)
        raise BadCredentials
    if user.totp_secret is not None:
        await _second_factor(await work.write(), ctx, user, code)
    await ctx.limiter.clear(rule, "password", key, ctx.client)
    new_hash = None
    if passwords.needs_rehash(stored or ""):
        new_hash = await verification.hash_password(ctx, password)
    session = await work.write()
    if new_hash is not None:
        user.password_hash = new_hash
        session.add(user)
    logger.info("business user %s logged in", user.id)
    return user, await issue_token(session, ctx.settings.user_token_ttl_days, user)


class SecondFactorNeeded(InvalidParameter):
    def __init__(self) -> None:
        super().__init__("2fa.secret", "the code of the authenticator app is required")


async def _second_factor(
    session: AsyncSession, ctx: Context, user: BusinessUser, code: str | None
) -> None:
    """RFC 6238 (30-second steps, 6 digits, SHA-1, one step of clock drift either way); each
    step's code is accepted once."""
    if not code:
        raise SecondFactorNeeded
    assert user.totp_secret is not None
    totp = pyotp.TOTP(unseal(ctx.key, TOTP_PURPOSE, user.totp_secret))
    now = int(clock_now().timestamp()) // totp.interval
    for step in (now - 1, now, now + 1):
        if same(totp.at(step * totp.interval), code.strip()) and await repository.claim_totp_step(
            session, user.id, step
        ):
            return
    logger.info("business user %s: wrong or used authenticator code from %s", user.id, ctx.client)
    raise BadCredentials


async def enroll_totp(session: AsyncSession, key: bytes, email: str) -> str:
    """A new second factor for an owner or administrator; the `otpauth://` URI to scan (the
    seed is stored sealed under the server secret, and shown only this once)."""
    user = await repository.user_by_email(session, email.strip().lower())
    if user is None:
        raise UserError("no business user with this e-mail")
    if user.role == ROLE_MEMBER:
        raise UserError("a second factor is for owners and administrators")
    seed = pyotp.random_base32()
    user.totp_secret = seal(key, TOTP_PURPOSE, seed)
    user.totp_last_step = None
    await repository.revoke_tokens(session, user.id, clock_now())
    logger.info("business user %s enrolled a second factor", user.id)
    return pyotp.TOTP(seed).provisioning_uri(name=user.email, issuer_name="OpenBooking")


async def remove_totp(session: AsyncSession, email: str) -> None:
    user = await repository.user_by_email(session, email.strip().lower())
    if user is None:
        raise UserError("no business user with this e-mail")
    user.totp_secret, user.totp_last_step = None, None
    logger.info("business user %s: second factor removed", user.id)


async def authenticate(session: AsyncSession, token: str) -> Principal:
    """The business user of `token`; 401 for anything else, customer tokens included."""
    user = await repository.token_owner(session, token_digest(token), clock_now())
    if user is None:
        raise Unauthorized
    return Principal(
        id=user.id,
        name=user.name or user.email,
        role=user.role,
        staff_id=user.staff_id,
        location_ids=frozenset(await repository.location_ids_of(session, user)),
    )


async def user_by_email(session: AsyncSession, email: str) -> BusinessUser:
    user = await repository.user_by_email(session, email.strip().lower())
    if user is None:
        raise UserError("no business user with this e-mail")
    return user


async def set_password(session: AsyncSession, email: str, password_hash: str) -> int:
    """A new password (the CLI hashed it); every token of the user is revoked."""
    user = await user_by_email(session, email)
    user.password_hash = password_hash
    logger.info("business user %s: password set by the operator", user.id)
    return await repository.revoke_tokens(session, user.id, clock_now())


async def revoke_all(session: AsyncSession, email: str) -> int:
    user = await repository.user_by_email(session, email.strip().lower())
    if user is None:
        raise UserError("no business user with this e-mail")
    return await repository.revoke_tokens(session, user.id, clock_now())
