from __future__ import annotations

import asyncio
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field
from starlette.datastructures import QueryParams
from starlette.requests import Request

from openbooking.kit.wire import (
    IdList,
    InvalidRequest,
    QuerySchema,
    clean_text,
    query,
    to_flag,
    to_id,
    to_moment,
)


class ServiceIds(QuerySchema):
    service_ids: IdList = Field(default_factory=list)


def parse(query_string: str) -> list[int]:
    request = Request({"type": "http", "query_string": query_string.encode(), "headers": []})
    return asyncio.run(query(ServiceIds)(request)).service_ids


@pytest.mark.parametrize(
    "query_string",
    [
        "service_ids[]=1&service_ids[]=2",
        "service_ids[0]=1&service_ids[1]=2",
        "service_ids=1,2",
        "service_ids=1&service_ids=2",
        "service_ids=1.0&service_ids[]=2.00",
        "service_ids=1,%202&other=9",
    ],
)
def test_every_array_spelling_gives_the_same_ids(query_string: str) -> None:
    assert parse(query_string) == [1, 2]


def test_missing_list_is_empty_and_duplicates_collapse() -> None:
    assert parse("staff_id=3") == []
    assert parse("service_ids=5,5,4") == [5, 4]


@pytest.mark.parametrize("bad", ["abc", "1.5", "-1", "1e3", "１２", "9" * 40, "1;2"])
def test_malformed_ids_name_the_field(bad: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse(str(QueryParams({"service_ids[]": bad})))
    assert "service_ids" in caught.value.message


def test_id_forms() -> None:
    assert to_id("100") == 100
    assert to_id("100.0") == 100
    assert to_id(100.0) == 100
    for bad in (str(2**31), "1_002", "+1002", "  1002", True, 1.5, None):
        with pytest.raises(ValueError, match="integer id"):
            to_id(bad)


def test_too_many_ids_are_refused() -> None:
    with pytest.raises(InvalidRequest):
        parse("service_ids=" + ",".join(map(str, range(60))))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), (0, False), ("1", True), ("true", True), ("FALSE", False), ("0", False)],
)
def test_booleans_in_every_wire_form(raw: object, expected: bool) -> None:
    assert to_flag(raw) is expected


@pytest.mark.parametrize("bad", ["maybe", 2, None, "tru"])
def test_other_booleans_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="true or false"):
        to_flag(bad)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-12-03T10:00:00+0300", datetime(2026, 12, 3, 7, 0, tzinfo=UTC)),
        ("2026-12-03T10:00:00+03:00", datetime(2026, 12, 3, 7, 0, tzinfo=UTC)),
        ("2026-12-03 10:00:00Z", datetime(2026, 12, 3, 10, 0, tzinfo=UTC)),
        ("1764756000", datetime(2025, 12, 3, 10, 0, tzinfo=UTC)),
    ],
)
def test_moments_with_an_offset(raw: str, expected: datetime) -> None:
    assert to_moment(raw) == expected


def test_a_moment_without_offset_stays_local() -> None:
    moment = to_moment("2026-12-03T10:00")
    assert moment.tzinfo is None
    assert moment == datetime(2026, 12, 3, 10, 0)  # noqa: DTZ001 - wall-clock time


@pytest.mark.parametrize("bad", ["tomorrow", "2026-13-01T10:00", "0001-01-01T00:00", 1764756000])
def test_other_moments_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match=r"ISO 8601|year"):
        to_moment(bad)


def test_offsets_survive_as_instants() -> None:
    moment = to_moment("2026-12-03T10:00:00-0500")
    assert moment.utcoffset() == timezone(timedelta(hours=-5)).utcoffset(None)


def _by_categories(text: str, *, multiline: bool) -> str | None:
    """`clean_text`'s rule for ASCII text, spelled out by Unicode categories."""
    text = unicodedata.normalize("NFC", text).strip()
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    allowed = "\n\t" if multiline else ""
    if any(unicodedata.category(c) in ("Cc", "Cf") and c not in allowed for c in text):
        raise ValueError("control")
    return text or None


@given(
    text=st.text(alphabet=st.characters(max_codepoint=127), max_size=90), multiline=st.booleans()
)
def test_ascii_text_is_judged_by_the_unicode_categories(text: str, multiline: bool) -> None:
    """ASCII text takes a shorter path through `clean_text` (no normalization, `isprintable`
    for the control characters): it keeps or refuses what the Unicode rules keep or refuse."""
    try:
        expected: str | type[ValueError] | None = _by_categories(text, multiline=multiline)
    except ValueError:
        expected = ValueError
    try:
        found: str | type[ValueError] | None = clean_text(
            text, max_length=1000, multiline=multiline
        )
    except ValueError:
        found = ValueError
    assert found == expected
