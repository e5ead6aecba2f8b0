"""`Idempotency-Key` on book_record, after Stripe and the IETF httpapi draft.

A key is claimed, in its own committed transaction, before the booking runs. The booking's
answer is stored under the key in the booking's own transaction (or, when the booking failed,
right after its rollback), so a committed booking always has its answer stored. A later call
with the same key and the same request gets that answer again; with another request, 422;
while the first is still running, 409. Keys are kept for `KEEP`; a claim whose call never
finished (the process died) is taken over after `LEASE`.

The key is stored only as a keyed digest bound to the partner, and the answer (which holds
record hashes) only encrypted with AES-GCM under a key derived from the server secret and the
client's key: the database alone gives neither.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from openbooking.bookings import repository
from openbooking.kit.clock import now as clock_now
from openbooking.kit.crypto import keyed_digest, same
from openbooking.kit.db import keeps_writes
from openbooking.kit.envelope import JSONResponse, envelope
from openbooking.kit.errors import ApiError
from openbooking.kit.errors import render as render_error

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.bookings.service import Created
    from openbooking.kit.db import UnitOfWork
    from openbooking.sms.base import SmsMessage

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEEP = timedelta(hours=24)
LEASE = timedelta(minutes=5)
_NONCE_BYTES = 12


class KeyInFlight(ApiError):
    status_code = 409
    default_message = "A request with this Idempotency-Key is still being processed; retry later."


class KeyReused(ApiError):
    status_code = 422
    default_message = "This Idempotency-Key was used with a different request."

    def __init__(self) -> None:
        super().__init__(errors=[{"code": 422, "field": HEADER, "message": self.default_message}])


class BadKey(ApiError):
    status_code = 400
    default_message = f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."

    def __init__(self) -> None:
        super().__init__(errors=[{"code": 400, "field": HEADER, "message": self.default_message}])


def parse_key(raw: str | None) -> str | None:
    """The client's key, or None without the header. A structured-field string (the IETF
    draft's `"…"`) and a bare token (Stripe's) name the same key."""
    if raw is None:
        return None
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not 0 < len(value) <= MAX_KEY_LENGTH or not (value.isascii() and value.isprintable()):
        raise BadKey
    return value


@dataclass(frozen=True, slots=True)
class Claim:
    digest: str  # of the partner and the key: the row's identity
    fingerprint: str  # of the request: the same key must come with the same request
    cipher: AESGCM  # for the stored answer

    @classmethod
    def of(cls, secret: bytes, partner_id: int, key: str, request: list[Any]) -> Claim:
        canonical = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        fingerprint = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
        answer_key = hmac.new(secret, f"idempotent-answer\x1f{key}".encode(), "sha256").digest()
        return cls(
            digest=keyed_digest(secret, "idempotency-key", partner_id, key),
            fingerprint=fingerprint,
            cipher=AESGCM(answer_key),
        )

    def seal(self, status_code: int, body: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + self.cipher.encrypt(nonce, body, self._bound(status_code))

    def open(self, status_code: int, sealed: bytes) -> bytes:
        nonce, data = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self.cipher.decrypt(nonce, data, self._bound(status_code))

    def _bound(self, status_code: int) -> bytes:
        """What the ciphertext is bound to: it opens only under this key with this status."""
        return f"{self.digest}\x1f{status_code}".encode()


def claim(secret: bytes, partner_id: int, raw_key: str | None, request: list[Any]) -> Claim | None:
    """The claim of a call made with the header (None without it; 400 for a malformed key)."""
    key = parse_key(raw_key)
    return None if key is None else Claim.of(secret, partner_id, key, request)


async def run(
    work: UnitOfWork,
    found: Claim | None,
    create: Callable[[UnitOfWork, Keeper | None], Awaitable[Created]],
) -> tuple[Response, list[SmsMessage]]:
    """Book with `create`, once per key: the answer and the SMS to send. `create` reads what it
    needs and ends in the write transaction (`work.write()`) that holds the booking.

    `create` gets a `Keeper` with a claim: a booking written by SQLite's writer keeps its
    answer in its own transaction with it (and says so in `Created.answer_stored`).

    Without a claim this is simply the booking. With one, a stored answer is replayed; a new
    call's answer, success or refusal, is stored (a throttle or a crash frees the key instead,
    so that a retry runs again).
    """
    if found is None:
        created = await create(work, None)
        return envelope(created.answer, status_code=201), created.notices
    stored = await begin(work, found)
    if stored is not None:
        status_code, content = stored
        replay = Response(
            content, status_code, {"Idempotent-Replayed": "true"}, JSONResponse.media_type
        )
        return replay, []
    try:
        created = await create(work, keeper(found))
        answer: Response = envelope(created.answer, status_code=201)
        if not created.answer_stored:
            await store(work.session, found, answer)
    except ApiError as exc:
        await (work.checkpoint() if keeps_writes(exc) else work.discard())
        if exc.status_code == 429:  # a retry later should run again
            await release(work, found)
            raise
        answer = render_error(exc)
        await store(await work.write(), found, answer)
        return answer, []
    except BaseException:
        await work.discard()
        await release(work, found)
        raise
    return answer, created.notices


async def begin(work: UnitOfWork, found: Claim) -> tuple[int, bytes] | None:
    """Claim the key for this call (None: go ahead), or the stored answer to replay.

    The claim is committed at once, so that every other call sees it. Raises KeyReused for
    another request under the key, KeyInFlight while the first call runs. Expired rows are
    purged on the way (an indexed delete)."""
    now = clock_now()
    session = await work.write()
    await repository.purge_keys(session, now - KEEP)
    row = await repository.key_for_update(session, found.digest)
    abandoned = row is not None and row.status_code is None and row.created_at < now - LEASE
    if row is None:
        try:
            await repository.add_key(session, found.digest, found.fingerprint, now)
        except IntegrityError:  # PostgreSQL: another call inserted the key first
            await work.discard()
            raise KeyInFlight from None
    elif abandoned:
        row.fingerprint, row.created_at = found.fingerprint, now
    await work.checkpoint()
    if row is None or abandoned:
        return None
    if not same(row.fingerprint, found.fingerprint):
        raise KeyReused
    if row.status_code is None or row.response is None:
        raise KeyInFlight
    return row.status_code, found.open(row.status_code, row.response)


async def store(session: AsyncSession, found: Claim, answer: Response) -> None:
    """Keep the answer under the key, in the caller's transaction."""
    sealed = found.seal(answer.status_code, bytes(answer.body))
    await repository.store_answer(session, found.digest, answer.status_code, sealed)


class Keeper:
    """Keeps a booking's answer (201 with the answer) under the key, written with the booking:
    in SQLite's writer transaction (`kit.sqlite_writer`), or in PostgreSQL's booking statement
    (`sealed`, `repository.write_booking_on`)."""

    __slots__ = ("found",)

    def __init__(self, found: Claim) -> None:
        self.found = found

    def sealed(self, answer: list[dict[str, Any]]) -> tuple[str, int, bytes]:
        """The key's digest, the answer's status code and the sealed answer, as stored."""
        response = envelope(answer, status_code=201)
        sealed = self.found.seal(response.status_code, bytes(response.body))
        return self.found.digest, response.status_code, sealed

    def __call__(self, connection: sqlite3.Connection, answer: list[dict[str, Any]]) -> None:
        repository.store_answer_now(connection, *self.sealed(answer))


def keeper(found: Claim) -> Keeper:
    return Keeper(found)


async def release(work: UnitOfWork, found: Claim) -> None:
    """Forget an unfinished claim (the call failed in a way a retry should redo)."""
    await repository.forget_unfinished_key(await work.write(), found.digest)
    await work.checkpoint()
