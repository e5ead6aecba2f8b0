"""Phone verification and customer authentication.

The rules of docs/security.md: codes are 6 random digits kept only as keyed hashes, bound to
phone, location and purpose, valid 5 minutes, at most 5 attempts counted atomically before the
comparison, single use; guess budgets (per phone and address, per address) and per-phone send
budgets live in the database, the other per-address budgets in the rate limiter; argon2 runs in
a bounded pool. Throttles answer 429 with Retry-After.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from openbooking.catalog import service as catalog
from openbooking.kit import metrics, phones
from openbooking.kit.auth import new_token, token_digest
from openbooking.kit.clock import now as clock_now
from openbooking.kit.crypto import keyed_digest, new_code, same
from openbooking.kit.errors import ApiError, InvalidParameter, NotFound, Unauthorized
from openbooking.kit.pool import BoundedPool, PoolBusy
from openbooking.models import Customer, SmsLog, UserToken, VerificationCode, VerificationFailure
from openbooking.models.customers import PURPOSE_PHONE_CHANGE, PURPOSE_VERIFY
from openbooking.sms.base import SmsDeliveryError, SmsMessage
from openbooking.verification import messages, passwords, repository

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.config import Settings
    from openbooking.kit.db import UnitOfWork
    from openbooking.kit.ratelimit import RateLimiter
    from openbooking.models import Location
    from openbooking.sms.base import SmsSender
    from openbooking.verification.schemas import (
        BookCodeBody,
        PasswordBody,
        UserAuthBody,
        UserUpdateBody,
    )

logger = logging.getLogger("openbooking.auth")
_CODE = re.compile(r"^[0-9]{6}$", re.ASCII)
HOUR, DAY = 3600, 86400


class Throttled(ApiError):
    status_code: ClassVar[int] = 429
    keeps_writes = True  # a failed guess that led here still counts
    default_message = "Too many requests. Try again later."

    def __init__(
        self, retry_after: float, message: str | None = None, *, kind: str = "other"
    ) -> None:
        seconds = max(1, math.ceil(retry_after))
        logger.info("throttled (%s): retry after %s s", kind, seconds)
        metrics.THROTTLES.labels(kind).inc()
        super().__init__(message, headers={"Retry-After": str(seconds)})


class CodeRejected(ApiError):
    """Wrong, expired, used or exhausted: one answer for all, so none is told apart."""

    status_code = 422
    default_message = "Invalid code from SMS."
    keeps_writes = True  # the failed attempt counts against the phone

    def __init__(self) -> None:
        error = {"code": 432, "message": self.default_message}
        super().__init__(errors=[{**error, "field": "code"}], legacy=error)


class BadCredentials(ApiError):
    status_code = 401
    default_message = "There is no user with this login and password."


class DeliveryFailed(ApiError):
    status_code = 503
    keeps_writes = True  # the code that never left is dead
    default_message = "The SMS could not be sent. Please try again later."


@dataclass(frozen=True, slots=True)
class Context:
    """What verification needs beyond the database, built per request."""

    settings: Settings
    key: bytes
    limiter: RateLimiter
    sender: SmsSender
    client: str
    hashing: BoundedPool  # where argon2 runs: a few slots and a short queue per process


@dataclass(frozen=True, slots=True)
class PendingSms:
    code_id: int
    log_id: int
    message: SmsMessage


def phone_or_422(raw: object, region: str | None, field: str = "phone") -> str:
    try:
        return phones.normalize(raw, region)
    except phones.PhoneError as exc:
        raise InvalidParameter(field, str(exc)) from None


def parse_code(value: object) -> str:
    """Exactly six ASCII digits; a JSON integer is accepted and zero-padded."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**6:
        return f"{value:06d}"
    if isinstance(value, str) and _CODE.fullmatch(value):
        return value
    raise InvalidParameter("code", "expected the 6-digit code from the SMS")


def _digest(ctx: Context, purpose: str, location_id: int, phone: str, code: str) -> str:
    return keyed_digest(ctx.key, purpose, location_id, phone, code)


def _allowed_countries(location: Location) -> set[str]:
    return set(location.sms_countries) or (
        {location.country_code} if location.country_code else set()
    )


def may_text(location: Location, phone: str) -> bool:
    """Whether the location sends SMS to this phone: a mobile in a country it sends codes to."""
    allowed = _allowed_countries(location)
    return phones.can_receive_sms(phone) and (not allowed or phones.region_of(phone) in allowed)


async def _check_send_budget(
    session: AsyncSession, ctx: Context, phone: str, location: Location, now: datetime
) -> None:
    settings = ctx.settings
    sent = await repository.sends_since(session, phone, now - timedelta(seconds=DAY))
    last_hour = [moment for moment in sent if moment > now - timedelta(seconds=HOUR)]
    if len(sent) >= settings.sms_per_phone_day:
        raise Throttled(
            (sent[-1] + timedelta(seconds=DAY) - now).total_seconds(), kind="sms-phone-day"
        )
    if len(last_hour) >= settings.sms_per_phone_hour:
        raise Throttled(
            (last_hour[-1] + timedelta(seconds=HOUR) - now).total_seconds(), kind="sms-phone-hour"
        )
    if last_hour:
        gap = timedelta(seconds=settings.sms_min_interval_seconds * 2 ** (len(last_hour) - 1))
        if now < last_hour[0] + gap:
            raise Throttled((last_hour[0] + gap - now).total_seconds(), kind="sms-phone-interval")
    budget = location.sms_daily_budget
    if budget is None:
        budget = settings.sms_location_daily_budget
    count, oldest = await repository.location_sends_since(
        session, location.id, now - timedelta(seconds=DAY)
    )
    if count >= budget:
        wait = (oldest + timedelta(seconds=DAY) - now).total_seconds() if oldest else DAY
        raise Throttled(wait, kind="sms-location-budget")


async def _check_client_budget(ctx: Context, phone: str) -> None:
    settings, limiter = ctx.settings, ctx.limiter
    marker = ("sms-client-phone", ctx.client, phone)
    if not await limiter.seen("1000/hour", *marker):
        verdict = await limiter.hit(
            f"{settings.sms_phones_per_ip_hour}/hour", "sms-client-phones", ctx.client
        )
        if not verdict.allowed:
            raise Throttled(verdict.retry_after, kind="sms-client-phones")
    verdict = await limiter.hit(f"{settings.sms_per_ip_hour}/hour", "sms-client", ctx.client)
    if not verdict.allowed:
        raise Throttled(verdict.retry_after, kind="sms-client")
    await limiter.hit("1000/hour", *marker)
    verdict = await limiter.hit(f"{settings.sms_per_prefix_hour}/hour", "sms-prefix", phone[:-4])
    if not verdict.allowed:
        logger.warning("code SMS to the block %sXXXX throttled: possible SMS pumping", phone[:-4])
        raise Throttled(verdict.retry_after, kind="sms-prefix")


async def prepare_code(
    session: AsyncSession,
    ctx: Context,
    location: Location,
    phone: str,
    purpose: str,
    *,
    customer_id: int | None = None,
    name: str | None = None,
) -> PendingSms:
    """Check every send limit, then store a new code (killing older ones) and log the send."""
    if not phones.can_receive_sms(phone):
        raise InvalidParameter("phone", "this number cannot receive SMS")
    allowed = _allowed_countries(location)
    if allowed and phones.region_of(phone) not in allowed:
        raise InvalidParameter("phone", "codes are not sent to this country from this location")
    now = clock_now()
    await repository.lock_phone(session, phone)
    await _check_send_budget(session, ctx, phone, location, now)
    await _check_client_budget(ctx, phone)
    await repository.kill_codes(session, phone, purpose, now)
    code = new_code()
    row = VerificationCode(
        purpose=purpose,
        location_id=location.id,
        phone=phone,
        customer_id=customer_id,
        name=name or "",
        digest=_digest(ctx, purpose, location.id, phone, code),
        created_at=now,
        expires_at=now + timedelta(seconds=ctx.settings.code_ttl_seconds),
    )
    log = SmsLog(location_id=location.id, phone=phone, purpose=purpose, created_at=now)
    session.add_all([row, log])
    await session.flush()
    text = messages.code_text(
        location.language, code, location.title, ctx.settings.code_ttl_seconds
    )
    return PendingSms(row.id, log.id, SmsMessage(to=phone, text=text, location_id=location.id))


async def send(work: UnitOfWork, ctx: Context, pending: PendingSms) -> None:
    """Send a code stored by `prepare_code`. The code is committed first, so no database lock
    is held while the gateway talks; if the gateway refuses, the code dies and the caller gets
    503."""
    await work.checkpoint()
    try:
        await ctx.sender.send(pending.message)
    except SmsDeliveryError as exc:
        logger.warning("sms delivery failed to %s: %s", phones.masked(pending.message.to), exc)
        session = await work.write()
        await repository.mark_undelivered(session, pending.code_id, pending.log_id, clock_now())
        raise DeliveryFailed from None
    logger.info(
        "code sent to %s for %s", phones.masked(pending.message.to), pending.message.location_id
    )


async def send_booking_code(
    work: UnitOfWork, ctx: Context, location_id: int, body: BookCodeBody
) -> None:
    """POST /book_code: the same answer whether or not the phone belongs to anyone."""
    session = await work.write()
    location = await catalog.location(session, location_id)
    phone = phone_or_422(body.phone, location.country_code or None)
    pending = await prepare_code(session, ctx, location, phone, PURPOSE_VERIFY, name=body.name)
    await send(work, ctx, pending)


async def _check_guess_budget(
    session: AsyncSession, ctx: Context, phone: str, now: datetime
) -> None:
    """Failed checks are counted per client address (any phone) and per phone and address, so
    a stranger's guesses throttle the stranger, never the phone's owner; what one phone can
    lose to guesses from everywhere is bounded by its codes (attempts per code) and by the
    codes it may be sent (the send budgets)."""
    settings, client = ctx.settings, ctx.client
    limit = settings.code_failures_per_ip_hour
    by_client = await repository.client_failures_since(
        session, client, now - timedelta(seconds=HOUR)
    )
    if len(by_client) >= limit:
        logger.info("code checks throttled for the address %s", client)
        wait = (by_client[-limit] + timedelta(seconds=HOUR) - now).total_seconds()
        raise Throttled(wait, kind="code-failures-client")
    failures = await repository.failures_since(session, phone, client, now - timedelta(seconds=DAY))
    recent = [moment for moment in failures if moment > now - timedelta(seconds=HOUR)]
    for window, seen, limit in (
        (DAY, failures, settings.phone_failures_per_day),
        (HOUR, recent, settings.phone_failures_per_hour),
    ):
        if len(seen) >= limit:
            logger.info("code checks of %s throttled for %s", phones.masked(phone), client)
            wait = (seen[-limit] + timedelta(seconds=window) - now).total_seconds()
            raise Throttled(
                wait, kind="code-failures-day" if window == DAY else "code-failures-hour"
            )


async def check_code(
    session: AsyncSession,
    ctx: Context,
    candidates: list[str],
    code: str,
    purpose: str,
    *,
    location_id: int | None = None,
    customer_id: int | None = None,
) -> VerificationCode:
    """Spend the code; return it (its phone is proven). Failures are recorded (CodeRejected
    keeps the writes) and all look the same to the client."""
    now = clock_now()
    row = await repository.live_code(session, candidates, purpose, now)
    phone = row.phone if row is not None else candidates[0]
    await repository.lock_client(session, ctx.client)
    await repository.lock_phone(session, phone)
    await _check_guess_budget(session, ctx, phone, now)
    accepted = (
        row is not None
        and (location_id is None or row.location_id == location_id)
        and (customer_id is None or row.customer_id == customer_id)
        and await repository.count_attempt(session, row.id, ctx.settings.code_max_attempts)
        and same(row.digest, _digest(ctx, purpose, row.location_id, row.phone, code))
        and await repository.consume(session, row.id, now)
    )
    if not accepted:
        session.add(VerificationFailure(phone=phone, client=ctx.client, created_at=now))
        logger.info("code check failed for %s from %s", phones.masked(phone), ctx.client)
        raise CodeRejected
    logger.info("code accepted for %s", phones.masked(phone))
    assert row is not None
    return row


async def issue_token(session: AsyncSession, settings: Settings, customer: Customer) -> str:
    token = new_token()
    now = clock_now()
    session.add(
        UserToken(
            customer_id=customer.id,
            token_sha256=token_digest(token),
            created_at=now,
            expires_at=now + timedelta(days=settings.user_token_ttl_days),
        )
    )
    await session.flush()
    return token


async def login_with_code(session: AsyncSession, ctx: Context, body: UserAuthBody) -> str:
    """POST /user/auth: the first login creates the account of that phone, named as the
    `book_code` call that sent the code said."""
    raw_phone = body.phone if body.phone is not None else body.login
    code = parse_code(body.code if body.code is not None else body.password)
    candidates = phones.candidates(raw_phone, await catalog.country_codes(session))
    if not candidates:
        phone_or_422(raw_phone, None)  # raises with the reason
    proof = await check_code(session, ctx, candidates, code, PURPOSE_VERIFY)
    customer = await repository.customer_by_phone(session, proof.phone)
    if customer is None:
        customer = Customer(phone=proof.phone, name=proof.name)
        session.add(customer)
        await session.flush()
        logger.info("customer %s created by phone login", customer.id)
    elif not customer.name and proof.name:
        customer.name = proof.name
    return await issue_token(session, ctx.settings, customer)


async def _argon2_budget(ctx: Context, key: str) -> str:
    """Count one password check against its two budgets, before argon2 runs: per login and
    address (guessing one account), and per address whatever the login (stuffing, and the
    CPU and memory argon2 costs). Returns the per-login rule, cleared on success."""
    settings = ctx.settings
    rule = f"{settings.password_failures_per_minute}/minute"
    verdict = await ctx.limiter.hit(rule, "password", key, ctx.client)
    if not verdict.allowed:
        logger.info("password login throttled for a login from %s", ctx.client)
        raise Throttled(verdict.retry_after, kind="password")
    per_client = f"{settings.password_checks_per_ip_minute}/minute"
    verdict = await ctx.limiter.hit(per_client, "password-client", ctx.client)
    if not verdict.allowed:
        logger.info("password checks throttled for the address %s", ctx.client)
        raise Throttled(verdict.retry_after, kind="password-client")
    return rule


async def _verify(ctx: Context, stored: str | None, password: str) -> bool:
    try:
        return await passwords.verify_password(stored, password, ctx.hashing)
    except PoolBusy:
        logger.warning("password check refused: every argon2 slot is taken and the queue full")
        raise Throttled(1, kind="argon2-busy") from None


async def _hash(ctx: Context, password: str) -> str:
    try:
        return await passwords.hash_password(password, ctx.hashing)
    except PoolBusy:
        logger.warning("password hash refused: every argon2 slot is taken and the queue full")
        raise Throttled(1, kind="argon2-busy") from None


async def login_with_password(
    work: UnitOfWork, ctx: Context, login: str | None, password: str
) -> tuple[Customer, str]:
    """POST /booking/auth: unknown logins cost one dummy argon2 check, like wrong passwords.

    Checks are counted per login (its normalised phone or e-mail) and client address, and per
    address, before argon2 runs; argon2 then runs in the bounded pool (a full one answers 429)
    with no database connection held, and the write transaction begins only after it.
    """
    if not login:
        raise InvalidParameter("login", "is required")
    if not password:
        raise InvalidParameter("password", "is required")
    session = work.session
    candidates = phones.candidates(login, await catalog.country_codes(session))
    key = candidates[0] if candidates else login.strip().lower()
    rule = await _argon2_budget(ctx, key)
    customer = await repository.customer_by_login(session, candidates, login.strip().lower())
    await work.checkpoint()  # no connection waits on argon2
    stored = customer.password_hash if customer is not None else None
    matches = await _verify(ctx, stored, password)  # always runs argon2
    if customer is None or customer.disabled_at is not None or not matches:
        logger.info("password login failed from %s", ctx.client)
        raise BadCredentials
    await ctx.limiter.clear(rule, "password", key, ctx.client)
    new_hash = await _hash(ctx, password) if passwords.needs_rehash(stored or "") else None
    await work.write()
    if new_hash is not None:
        customer.password_hash = new_hash
        session.add(customer)
    logger.info("customer %s logged in with a password", customer.id)
    return customer, await issue_token(session, ctx.settings, customer)


async def authenticate(session: AsyncSession, token: str) -> Customer:
    customer = await repository.token_owner(session, token_digest(token), clock_now())
    if customer is None:
        raise Unauthorized
    return customer


async def update_profile(
    session: AsyncSession, ctx: Context, customer: Customer, token: str, body: UserUpdateBody
) -> None:
    """PUT /booking/user: name, email; a new phone needs the code sent to it. The phone is the
    login, so changing it signs out every other session: only `token` stays valid (R17)."""
    name, email = body.name, body.email
    if email is not None:
        email = email.lower()
        if "@" not in email.strip("@"):
            raise InvalidParameter("email", "not an e-mail address")
        other = await repository.customer_by_login(session, [], email)
        if other is not None and other.id != customer.id:
            raise InvalidParameter("email", "this e-mail is already in use")
        customer.email = email
    if name is not None:
        customer.name = name
    if body.phone not in (None, ""):
        candidates = phones.candidates(body.phone, await catalog.country_codes(session))
        if not candidates:
            phone_or_422(body.phone, None)
        code = parse_code(body.confirmation_code)
        proof = await check_code(
            session, ctx, candidates, code, PURPOSE_PHONE_CHANGE, customer_id=customer.id
        )
        phone = proof.phone
        owner = await repository.customer_by_phone(session, phone)
        if owner is not None and owner.id != customer.id:
            raise InvalidParameter("phone", "The specified number is already in use.")
        if phone != customer.phone:
            customer.phone = phone
            await repository.revoke_tokens(
                session, customer.id, clock_now(), keep=token_digest(token)
            )


async def change_password(
    work: UnitOfWork, ctx: Context, customer: Customer, body: PasswordBody
) -> str:
    """PUT /booking/user/password: every earlier token dies; the new one is returned.

    A customer who has no password yet (they log in with SMS codes) sets the first one with
    `old_password` left out.
    """
    new, old = body.new_password, body.old_password
    if new is None:
        raise InvalidParameter("new_password", "is required")
    reason = passwords.problem(
        new, [customer.phone.lstrip("+"), customer.name, customer.email or ""]
    )
    if reason is not None:
        raise InvalidParameter("new_password", reason)
    await work.checkpoint()  # no connection waits on argon2
    if customer.password_hash is not None and not (
        isinstance(old, str) and await _verify(ctx, customer.password_hash, old)
    ):
        raise InvalidParameter("old_password", "Wrong password specified")
    new_hash = await _hash(ctx, new)
    session = await work.write()  # only now: argon2 ran outside any database lock
    customer.password_hash = new_hash
    session.add(customer)
    revoked = await repository.revoke_tokens(session, customer.id, clock_now())
    logger.info("customer %s changed the password; %s tokens revoked", customer.id, revoked)
    return await issue_token(session, ctx.settings, customer)


async def phone_change_code(
    work: UnitOfWork,
    ctx: Context,
    customer: Customer,
    raw_phone: str,
    *,
    location_id: int | None,
    chain_id: int | None,
) -> None:
    """GET /booking/user/phone_confirmation: a code to the new phone, bound to this customer."""
    session = await work.write()
    if (location_id is None) == (chain_id is None):
        raise InvalidParameter("company_id", "give company_id or group_id")
    if location_id is not None:
        location = await catalog.location(session, location_id)
    else:
        assert chain_id is not None
        found = await catalog.first_location_of_chain(session, chain_id)
        if found is None:
            raise NotFound("Chain not found.")
        location = found
    phone = phone_or_422(raw_phone, location.country_code or None)
    pending = await prepare_code(
        session, ctx, location, phone, PURPOSE_PHONE_CHANGE, customer_id=customer.id
    )
    await send(work, ctx, pending)


async def revoke_all(session: AsyncSession, phone: str) -> int:
    """Revoke every token of the customer with `phone` (the CLI's `user-token revoke`)."""
    customer = await repository.customer_by_phone(session, phone)
    if customer is None:
        raise InvalidParameter("phone", "no customer has this phone")
    return await repository.revoke_tokens(session, customer.id, clock_now())


def valid_phone(raw: str) -> str | None:
    """`raw` in E.164 when it is a valid number in international form (`+7…` or `7…`), else
    None (`/validation/validate_phone`)."""
    try:
        return phones.normalize(raw)
    except phones.PhoneError:
        return None


# The password machinery, shared with the business users' login (backoffice.accounts): the same
# budgets, the same bounded argon2 pool, the same answers.
password_budget = _argon2_budget
check_password = _verify
hash_password = _hash
