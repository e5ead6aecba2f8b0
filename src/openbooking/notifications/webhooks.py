"""Signed webhook calls, in the manner of Stripe's: the header

    OpenBooking-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

lets a receiver check that the body came from this server and is fresh (docs/business-api.md).
Each endpoint's secret is derived from the server's secret key, the location, the URL and the
endpoint's `secret_version` (raise it to rotate): nothing secret is stored, and
`openbooking webhooks secrets` shows it to whoever holds the server key.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from openbooking import __version__
from openbooking.kit.crypto import keyed_digest

if TYPE_CHECKING:
    from datetime import datetime

SIGNATURE_HEADER = "OpenBooking-Signature"
EVENT_HEADER = "OpenBooking-Event"
DELIVERY_HEADER = "OpenBooking-Delivery"
TOLERANCE_SECONDS = 300


class WebhookError(Exception):
    """The receiver did not take the call. The message names the HTTP status or the error
    class, never the body or the URL's query."""


def secret(key: bytes, location_id: int, url: str, version: int = 1) -> str:
    return "whsec_" + keyed_digest(key, "webhook", location_id, url, version)


def signature(secret_value: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    mac = hmac.new(secret_value.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret_value: str, header: str, body: bytes, now: int) -> bool:
    """What a receiver does (also the example in docs/business-api.md)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = signature(secret_value, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def body_of(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(payload)


async def deliver(
    client: httpx.AsyncClient,
    url: str,
    secret_value: str,
    payload: dict[str, Any],
    *,
    delivery_id: int,
    now: datetime,
    seconds: float,
) -> None:
    """POST the signed payload; any answer but 2xx (or no answer) raises WebhookError."""
    body = body_of(payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"OpenBooking/{__version__} webhooks",
        SIGNATURE_HEADER: signature(secret_value, int(now.timestamp()), body),
        EVENT_HEADER: str(payload.get("type", "")),
        DELIVERY_HEADER: str(delivery_id),
    }
    try:
        response = await client.post(url, content=body, headers=headers, timeout=seconds)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise WebhookError(f"request failed: {type(exc).__name__}") from None
    if not response.is_success:
        raise WebhookError(f"answered HTTP {response.status_code}")
