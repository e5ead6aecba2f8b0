"""Operations: liveness, readiness and who may read the metrics.

Readiness asks each dependency with a deadline and names what is not ready; it never raises, so
a probe gets 200 or 503, never a 500. Its answers name a dependency and an exception's class,
never an exception's message (a driver's message can carry a host or a user name).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from openbooking import migrations
from openbooking.kit import metrics
from openbooking.kit.auth import parse_authorization
from openbooking.kit.errors import NotFound, Unauthorized
from openbooking.ops import repository

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.ext.asyncio import AsyncEngine

    from openbooking.config import Settings
    from openbooking.kit.ratelimit import RateLimiter

logger = logging.getLogger("openbooking.ops")

CHECK_SECONDS = 5.0  # each dependency must answer within this
OK = "ok"
# Headers a reverse proxy adds: a request carrying one did not come from this machine's scraper.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: dict[str, str]  # dependency -> "ok", or what is wrong with it

    @property
    def ready(self) -> bool:
        return all(state == OK for state in self.checks.values())


@cache
def _head() -> str | None:
    return migrations.head()


async def _database(engine: AsyncEngine) -> dict[str, str]:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            found = await repository.schema_revision(engine)
    except TimeoutError:
        logger.warning("readiness: the database did not answer within %s s", CHECK_SECONDS)
        return {"database": f"no answer within {CHECK_SECONDS:g} s", "schema": "unknown"}
    except Exception as exc:  # whatever the driver raises: not ready, never a 500
        logger.warning("readiness: the database is unreachable (%s)", type(exc).__name__)
        return {"database": f"unreachable ({type(exc).__name__})", "schema": "unknown"}
    head = _head()
    if found is None:
        return {"database": OK, "schema": "missing: run `openbooking db upgrade`"}
    if found != head:
        logger.warning("readiness: the schema is at revision %s, not %s", found, head)
        return {
            "database": OK,
            "schema": f"at revision {found}, this version needs {head}: "
            "run `openbooking db upgrade`",
        }
    return {"database": OK, "schema": OK}


async def _redis(limiter: RateLimiter) -> dict[str, str]:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            answered = await limiter.ping()
    except TimeoutError:
        answered = False
    except Exception as exc:  # a connection error of any kind: not ready
        logger.warning("readiness: Redis is unreachable (%s)", type(exc).__name__)
        answered = False
    return {"redis": OK if answered else "unreachable"}


async def readiness(engine: AsyncEngine, limiter: RateLimiter | None) -> Readiness:
    """The database (reachable, schema at the newest revision) and, when the rate limits are
    kept there (`limiter` given), Redis."""
    parts = [_database(engine)]
    if limiter is not None:
        parts.append(_redis(limiter))
    checks: dict[str, str] = {}
    for found in await asyncio.gather(*parts):
        checks |= found
    return Readiness(checks)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def authorize_scrape(settings: Settings, peer: str | None, headers: Mapping[str, str]) -> None:
    """With `OPENBOOKING_METRICS_TOKEN` set, the scraper must send it as a bearer token (401
    otherwise); unset, only a direct connection from this machine (a loopback peer and no proxy
    forwarding headers) may read the metrics, and anyone else gets 404."""
    if settings.metrics_token is not None:
        expected = settings.metrics_token.get_secret_value()
        credentials = parse_authorization(headers.get("authorization"))
        given = credentials.partner_token if credentials and not credentials.user_token else ""
        # Digests of equal length: the comparison takes the same time whatever was sent.
        if not hmac.compare_digest(_digest(given), _digest(expected)):
            raise Unauthorized(headers={"WWW-Authenticate": "Bearer"})
        return
    if not _is_loopback(peer) or any(name in headers for name in FORWARDING_HEADERS):
        raise NotFound


def scrape(settings: Settings, peer: str | None, headers: Mapping[str, str]) -> bytes:
    """The metrics in Prometheus text format, for a scraper `authorize_scrape` lets in."""
    authorize_scrape(settings, peer, headers)
    return metrics.exposition()


def _is_loopback(peer: str | None) -> bool:
    try:
        return peer is not None and ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False
