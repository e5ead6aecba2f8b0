from __future__ import annotations

import pytest

from openbooking.kit.envelope import Dialect, dialect_from_accept


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/vnd.api.v2+json", Dialect.ALTEGIO),
        ("application/vnd.yclients.v2+json", Dialect.YCLIENTS),
        ("application/vnd.api.v2+json; charset=utf-8", Dialect.ALTEGIO),
        ("Application/VND.YCLIENTS.V2+JSON", Dialect.YCLIENTS),
        ("application/vnd.yclients.v2+json, application/vnd.api.v2+json", Dialect.YCLIENTS),
        ("application/vnd.api.v2+json, application/vnd.yclients.v2+json", Dialect.ALTEGIO),
    ],
)
def test_vendor_media_types_pick_the_dialect(accept: str, expected: Dialect) -> None:
    assert dialect_from_accept(accept, Dialect.ALTEGIO) is expected
    assert dialect_from_accept(accept, Dialect.YCLIENTS) is expected


@pytest.mark.parametrize("accept", [None, "", "*/*", "application/json", "text/html"])
def test_anything_else_gets_the_default(accept: str | None) -> None:
    assert dialect_from_accept(accept, Dialect.ALTEGIO) is Dialect.ALTEGIO
    assert dialect_from_accept(accept, Dialect.YCLIENTS) is Dialect.YCLIENTS
