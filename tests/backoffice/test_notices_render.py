"""A booking's outbox messages as `GET /record` shows them: every state a desk may see, and a
webhook's endpoint by its host only (its URL may hold a secret)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from openbooking.backoffice import render
from openbooking.models import Location, OutboxMessage
from openbooking.models.notifications import CHANNEL_EMAIL, CHANNEL_WEBHOOK

AT = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
NEW_YORK = Location(id=1002, timezone="America/New_York")


def message(channel: str, target: str, **state: object) -> OutboxMessage:
    fields = {"attempts": 0, "sent_at": None, "dead_at": None, "last_error": ""} | state
    return OutboxMessage(
        id=1, channel=channel, event="x", target=target, due_at=AT, location_id=1002, **fields
    )


def test_each_state_and_a_webhooks_host() -> None:
    mail = "ada@example.org"
    hook = "https://user:pw@hooks.example.com/secret-path?token=abc"
    cases = [
        (message(CHANNEL_EMAIL, mail), "pending", mail),
        (message(CHANNEL_EMAIL, mail, attempts=2, last_error="timeout"), "pending", mail),
        (message(CHANNEL_EMAIL, mail, attempts=1, sent_at=AT), "sent", mail),
        (
            message(CHANNEL_WEBHOOK, hook, attempts=8, dead_at=AT, last_error="HTTP 500"),
            "failed",
            "hooks.example.com",
        ),
        (
            message(CHANNEL_EMAIL, mail, dead_at=AT + timedelta(hours=1), last_error="changed"),
            "dropped",
            mail,
        ),
    ]
    for row, state, to in cases:
        shown = render.outbox_entry(row, NEW_YORK)
        assert (shown["state"], shown["to"]) == (state, to), shown
        assert shown["due"] == "2026-12-03T12:00:00-0500"
        assert "secret" not in str(shown)
