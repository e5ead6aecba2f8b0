"""argon2id password hashes, computed in the process's bounded pool (each costs ~0.3 s of CPU
and 64 MiB while it runs)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

if TYPE_CHECKING:
    from collections.abc import Sequence

    from openbooking.kit.pool import BoundedPool

# The password is the only factor of `booking/auth`, so NIST SP 800-63B-4 asks for 15.
MIN_LENGTH = 15
MAX_BYTES = 1024
# zxcvbn's estimate, 0-4; 3 = "safely unguessable". It knows 30,000 common passwords, words,
# names, keyboard walks, repeats and sequences; it looks at the first `_JUDGED` characters.
MIN_SCORE = 3
_JUDGED = 72


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile: t=3, m=64 MiB, p=4


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("not the password of anyone")


def problem(password: str, user_inputs: Sequence[str] = ()) -> str | None:
    """Why a new password is refused, or None. No composition rules (NIST 800-63B): long
    enough, and not common, repetitive or sequential (`user_inputs`, the customer's own
    details, count as common words)."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if len(password.encode()) > MAX_BYTES:
        return f"at most {MAX_BYTES} bytes"
    if zxcvbn(password[:_JUDGED], user_inputs=[i for i in user_inputs if i])["score"] < MIN_SCORE:
        return "too easy to guess: avoid common passwords, repeats and sequences"
    return None


async def hash_password(password: str, pool: BoundedPool) -> str:
    """Raises `PoolBusy` when the pool's queue is full."""
    return await pool.run(_hasher().hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher().verify(stored or _dummy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str, pool: BoundedPool) -> bool:
    """Check `password`; with no stored hash a dummy one is checked, so timing tells nothing.
    Raises `PoolBusy` when the pool's queue is full (known and unknown logins alike)."""
    if len(password.encode()) > MAX_BYTES:
        password = ""
    return await pool.run(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    return _hasher().check_needs_rehash(stored)
