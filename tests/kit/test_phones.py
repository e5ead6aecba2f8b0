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


def _example_digits() -> list[str]:
    """The digits after "+" of every example number of the numbering plan (each region's and
    each non-geographic code's, of every type), with the variants parse treats apart: a
    national prefix written after the country code, leading zeros, a digit more or less, and
    the last digit changed."""
    numbers = [
        phonenumbers.example_number_for_type(region, kind)
        for region in phonenumbers.SUPPORTED_REGIONS
        for kind in phonenumbers.PhoneNumberType.values()
    ]
    numbers += [
        phonenumbers.example_number_for_non_geo_entity(code)
        for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
    ]
    found: set[str] = set()
    for number in filter(None, numbers):
        digits = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
        code = str(number.country_code)
        national = digits[len(code) :]
        for variant in (
            national,
            "0" + national,
            "00" + national,
            "1" + national,
            "8" + national,
            national[:-1],
            national + "0",
            national[:-1] + str((int(national[-1]) + 1) % 10),
        ):
            if 6 <= len(code + variant) <= 17:  # what normalize lets through
                found.add(code + variant)
    return sorted(found)


def test_a_number_written_with_its_country_code_reads_as_phonenumbers_parse_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    corpus = _example_digits()
    expected = {digits: phones._parse("+" + digits, None) for digits in corpus}
    parsed: list[str] = []
    original = phones._parse

    def counted(text: str, region: str | None) -> Any:
        parsed.append(text)
        return original(text, region)

    monkeypatch.setattr(phones, "_parse", counted)
    for digits in corpus:
        assert phones._international(digits) == expected[digits], digits
    # Most numbers, valid or not, are read without phonenumbers.parse.
    valid = [digits for digits, found in expected.items() if found is not None]
    assert len(corpus) > 5000
    assert len(valid) > 1000
    assert len(parsed) < len(corpus) / 4


def test_a_numbers_type_is_the_one_phonenumbers_gives() -> None:
    """`_kind` compiles the numbering plan's patterns once; `phonenumbers.number_type` is the
    reference, for every example number and variant, valid or not, in every region."""
    numbers = [phonenumbers.parse("+" + digits, None) for digits in _example_digits()]
    kinds = {phonenumbers.number_type(number) for number in numbers}
    assert len(kinds) >= 8  # the corpus has most types, and invalid numbers
    for number in numbers:
        assert phones._kind(number) == phonenumbers.number_type(number), number
