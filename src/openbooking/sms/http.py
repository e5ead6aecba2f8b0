"""Delivery over HTTP: a generic JSON gateway, and the client handling Twilio shares."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from openbooking.sms.base import SmsDeliveryError, SmsMessage

PLACEHOLDER = re.compile(r"\{(to|text|location_id)\}")
_PROBE = SmsMessage(to="+10000000000", text='probe "text"\n', location_id=1)


class HttpGateway:
    """Posts over one lazily created client; every failure becomes SmsDeliveryError.

    Error messages name the gateway and the HTTP status or error class, never the request.
    """

    name = "SMS gateway"

    def __init__(self, timeout: float, client: httpx.AsyncClient | None) -> None:
        self._timeout = timeout
        self._client = client
        self._owns_client = client is None

    async def aclose(self) -> None:
        """Close the client this sender created; a client passed in stays open."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _post(self, url: str, **options: Any) -> None:
        """POST with httpx's keyword options (`data`, `content`, `headers`, `auth`)."""
        if self._client is None:
            self._client = httpx.AsyncClient()
        try:
            response = await self._client.post(url, timeout=self._timeout, **options)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise SmsDeliveryError(f"{self.name} request failed: {type(exc).__name__}") from None
        if not response.is_success:
            raise SmsDeliveryError(f"{self.name} answered HTTP {response.status_code}")


class HttpSender(HttpGateway):
    """POSTs a JSON body made from a template with {to}, {text} and {location_id} filled in."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        body_template: str,
        timeout: float,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(timeout, client)
        self._url = url
        self._headers = httpx.Headers({"Content-Type": "application/json"})
        self._headers.update(headers)
        self._template = body_template
        if "{to}" not in body_template or "{text}" not in body_template:
            raise ValueError("the SMS HTTP body template must contain {to} and {text}")
        try:
            json.loads(self.render(_PROBE))
        except ValueError as exc:
            raise ValueError(
                f"the SMS HTTP body template is not JSON once filled in: {exc}"
            ) from None

    def render(self, message: SmsMessage) -> str:
        """The template with each placeholder replaced once by its JSON-escaped value."""
        values = {"to": message.to, "text": message.text, "location_id": str(message.location_id)}
        return PLACEHOLDER.sub(
            lambda match: json.dumps(values[match[1]], ensure_ascii=False)[1:-1], self._template
        )

    async def send(self, message: SmsMessage) -> None:
        await self._post(self._url, headers=self._headers, content=self.render(message).encode())
