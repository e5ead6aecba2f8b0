"""Delivery through Twilio's Programmable Messaging REST API."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx

from openbooking.sms.http import HttpGateway

if TYPE_CHECKING:
    from openbooking.sms.base import SmsMessage


class TwilioSender(HttpGateway):
    name = "Twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_url: str,
        timeout: float,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(timeout, client)
        sid = quote(account_sid, safe="")
        self._url = f"{api_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._from = from_number

    async def send(self, message: SmsMessage) -> None:
        form = {"To": message.to, "From": self._from, "Body": message.text}
        await self._post(self._url, auth=self._auth, data=form)
