"""Booking form public keys and the widget pages' settings.

A widget page talks to `/api/v1` like any client, but it must not hold a partner token: anyone
can read a page's source. Each live booking form therefore has a public key,
`obw_<form id>_<32 hex>`, derived from the server's secret key (so nothing is stored and the
key is the same in every worker). The key only identifies the form; what makes it safe to
publish is what it may do (`WIDGET_CALLS`, only for the form's locations, throttled per
address), checked in `auth.dependencies`. Deleting the form (from the business file) revokes
its key; replacing the server's secret key changes every key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openbooking.kit.crypto import keyed_digest, same
from openbooking.kit.errors import NotFound
from openbooking.widget import repository

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.models import Bookform

PREFIX = "obw_"
_KEY = re.compile(r"^obw_(?P<form>[1-9][0-9]{0,11})_(?P<mac>[0-9a-f]{32})$")

# What a widget does, as (method, route under /api/v1); anything else answers 401.
WIDGET_CALLS: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/bookform/{bookform_id}"),
        ("GET", "/i18n/{lang_code}"),
        ("GET", "/privacy_policy/{location_id}"),
        ("GET", "/companies"),
        ("GET", "/company/{location_id}"),
        ("GET", "/book_services/{location_id}"),
        ("GET", "/book_staff/{location_id}"),
        ("GET", "/book_dates/{location_id}"),
        ("GET", "/book_times/{location_id}/{staff_id}/{date}"),
        ("GET", "/book_staff_seances/{location_id}/{staff_id}"),
        ("POST", "/book_code/{location_id}"),
        ("POST", "/book_check/{location_id}"),
        ("POST", "/book_record/{location_id}"),
        ("GET", "/book_record/{location_id}/{record_id}/{record_hash}"),
        ("GET", "/book_record/{location_id}/{record_id}"),
        ("PUT", "/book_record/{location_id}/{record_id}"),
        ("POST", "/user/auth"),
        ("GET", "/user/records/{record_id}/{record_hash}"),
        ("GET", "/user/records/{record_id}"),
        ("DELETE", "/user/records/{record_id}/{record_hash}"),
        ("DELETE", "/user/records/{record_id}"),
    }
)


@dataclass(frozen=True, slots=True)
class WidgetScope:
    """What a valid public key may reach: its form and the form's locations."""

    bookform_id: int
    location_ids: frozenset[int]


def is_public_key(token: str) -> bool:
    return token.startswith(PREFIX)


def public_key(secret: bytes, bookform_id: int) -> str:
    return f"{PREFIX}{bookform_id}_{_mac(secret, bookform_id)}"


def _mac(secret: bytes, bookform_id: int) -> str:
    return keyed_digest(secret, "widget-public-key", bookform_id)[:32]


async def scope_of(session: AsyncSession, secret: bytes, token: str) -> WidgetScope | None:
    """The scope of a public key, or None if it is malformed, forged or its form is gone."""
    match = _KEY.match(token)
    if match is None:
        return None
    bookform_id = int(match["form"])
    if not same(match["mac"], _mac(secret, bookform_id)):
        return None
    form = await repository.live_bookform(session, bookform_id)
    if form is None:
        return None
    return WidgetScope(bookform_id, frozenset(await repository.location_ids(session, form)))


def allows(scope: WidgetScope, method: str, route: str, params: dict[str, str]) -> bool:
    """Whether a widget with `scope` may make this call (route relative to /api/v1)."""
    if (method, route) not in WIDGET_CALLS:
        return False
    if "bookform_id" in params and params["bookform_id"] != str(scope.bookform_id):
        return False
    if "location_id" in params:
        try:
            return int(params["location_id"]) in scope.location_ids
        except ValueError:
            return True  # the endpoint answers its own 422
    return True


@dataclass(frozen=True, slots=True)
class Page:
    """What a widget page needs from the server: its form, key and who may frame it."""

    bookform_id: int
    key: str
    lang: str
    title: str
    embed_origins: tuple[str, ...]


def _page(secret: bytes, form: Bookform) -> Page:
    return Page(
        bookform_id=form.id,
        key=public_key(secret, form.id),
        lang=form.lang or "en-US",
        title=form.title,
        embed_origins=tuple(str(origin) for origin in form.embed_origins or []),
    )


async def booking_page(session: AsyncSession, secret: bytes, bookform_id: int) -> Page:
    form = await repository.live_bookform(session, bookform_id)
    if form is None:
        raise NotFound("Booking form not found.")
    return _page(secret, form)


async def manage_page(session: AsyncSession, secret: bytes, location_id: int) -> Page:
    """The page of a record's manage link: the location's booking form (or its chain's). The
    record itself is read by the page through the API, with its hash."""
    form = await repository.location_of_record_form(session, location_id)
    if form is None:
        raise NotFound("No booking form for this location.")
    return _page(secret, form)


async def pages(session: AsyncSession) -> Sequence[tuple[int, str]]:
    """Every live form's id and title, for `serve --demo` to print their URLs."""
    return [(form.id, form.title) for form in await repository.all_live_bookforms(session)]


def content_security_policy(embed_origins: Sequence[str]) -> str:
    ancestors = " ".join(["'self'", *embed_origins])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:;"
        " connect-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none';"
        f" frame-ancestors {ancestors}"
    )
