from __future__ import annotations

from typing import Any

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbooking.kit import phones
from openbooking.kit.phones import PhoneError, can_receive_sms, candidates, normalize, region_of


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("+7 (916) 100-10-10", None),
        ("89161001010", "RU"),
        ("79161001010", None),
        ("+79161001010", "DE"),
        ("7 916 100 10 10", None),
    ],
)
def test_t28_every_variant_is_one_e164_value(raw: str, region: str | None) -> None:
    assert normalize(raw, region) == "+79161001010"


@pytest.mark.parametrize(
    "raw",
    [
        "+7 ９１６ 1001010",
        "+7916١٠٠1010",
        "+791610010101234567",
        "",
        "+",
        "phone",
        "+7 916 100 10 10 #",
        79161001010,
        None,
    ],
)
def test_junk_is_refused(raw: Any) -> None:
    with pytest.raises(PhoneError):
        normalize(raw)


def test_national_forms_need_a_region_and_may_read_several_ways() -> None:
    # 8 916... is Moscow mobile in Russia and 089 161... a Munich line in Germany: login tries
    # every reading and takes the one that has a live code.
    assert candidates("89161001010", {"RU", "DE"}) == ["+4989161001010", "+79161001010"]
    assert candidates("89161001010", set()) == []


@given(st.text(max_size=40))
def test_t34_normalizing_is_total_and_idempotent(raw: str) -> None:
    try:
        value = normalize(raw, "DE")
    except PhoneError:
        return
    assert normalize(value) == value


@pytest.mark.parametrize(
    ("raw", "region", "mobile", "country"),
    [
        ("0151 12345678", "DE", True, "DE"),  # a German mobile, national form
        ("030 1234567", "DE", False, "DE"),  # a Berlin landline: not texted
        ("02 8736 1234", "IT", False, "IT"),  # Milan: the leading zero is part of the number
        ("(212) 555-0123", "US", True, "US"),
        ("+44 7400 123456", None, True, "GB"),
    ],
)
def test_what_a_normalized_phone_is_does_not_depend_on_how_it_was_written(
    raw: str, region: str | None, mobile: bool, country: str
) -> None:
    value = normalize(raw, region)
    remembered = (can_receive_sms(value), region_of(value))
    phones._PARSED.clear()  # as another process, which parses the stored E.164 form anew
    assert (can_receive_sms(value), region_of(value)) == remembered == (mobile, country)


@given(
    st.sampled_from(["1", "33", "44", "49", "7", "39", "81", "882", "979"]),
    st.text("0123456789", min_size=4, max_size=12),
)
def test_a_number_is_taken_exactly_when_the_numbering_plan_calls_it_valid(
    country: str, national: str
) -> None:
    raw = f"+{country}{national}"
    valid = phonenumbers.is_valid_number(phonenumbers.parse(raw, None))
    try:
        normalize(raw)
    except PhoneError:
        assert not valid
    else:
        assert valid
