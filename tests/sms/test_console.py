from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from openbooking.sms.base import SmsMessage
from openbooking.sms.console import ConsoleSender

if TYPE_CHECKING:
    import pytest


async def test_logs_the_whole_message_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="openbooking.sms.console"):
        await ConsoleSender().send(SmsMessage(to="+4915112345678", text="Code 4711", location_id=3))
    [record] = caplog.records
    assert record.name == "openbooking.sms.console"
    assert record.levelno == logging.WARNING
    assert "Code 4711" in record.getMessage()
    assert "+4915112345678" in record.getMessage()
