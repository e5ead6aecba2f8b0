"""Phone numbers: every textual variant of one number becomes one E.164 string."""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberDesc,
    PhoneNumberType,
)

MAX_RAW_LENGTH = 32
_FORMATTING = re.compile(r"[\s().\-]")
_SHAPE = re.compile(r"^\+?[0-9]{6,17}$", re.ASCII)
_NOT_FOR_SMS = {
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.VOIP,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.UAN,
}


# The numbers `normalize` gave lately, parsed and typed, by their E.164 form: a booking
# normalizes its phone, then asks whether it may be texted (`can_receive_sms`, `region_of`),
# and each parse, like each walk of the numbering plan for the type, costs more than the rest
# of those checks. Bounded: emptied when full.
_PARSED: dict[str, tuple[phonenumbers.PhoneNumber, int]] = {}
_PARSED_MAX = 4096


class PhoneError(ValueError):
    """Not a phone number we accept; the message says why, without echoing the input."""


def _parse(text: str, region: str | None) -> tuple[phonenumbers.PhoneNumber, int] | None:
    """The number and its type; None when it is not a valid number (`is_valid_number` is
    whether the numbering plan gives the number a type, so the type is looked up once)."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    kind = phonenumbers.number_type(number)
    return None if kind == PhoneNumberType.UNKNOWN else (number, kind)


def _international(digits: str) -> tuple[phonenumbers.PhoneNumber, int] | None:
    """`_parse("+" + digits, None)` for ASCII `digits`, without `phonenumbers.parse` where
    parse reads them as written (`_as_written`): 5 % of a booking's instructions on SQLite
    (docs/performance.md). tests/kit/test_phones.py holds it to parse, number by number."""
    number = _as_written(digits)
    if number is None:
        return _parse("+" + digits, None)
    kind = _kind(number)
    return None if kind == PhoneNumberType.UNKNOWN else (number, kind)


# The types `phonenumbers.number_type` tries before the fixed line and the mobile, in its order.
_SPECIAL = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)
_Desc = tuple[frozenset[int], re.Pattern[str]] | None  # possible lengths (none: any), pattern


def _desc(found: PhoneNumberDesc | None) -> _Desc:
    if found is None or not found.national_number_pattern:
        return None  # matches nothing
    return frozenset(found.possible_length or ()), re.compile(found.national_number_pattern)


@cache
def _types(code: int, region: str) -> tuple[_Desc, list[tuple[_Desc, int]], _Desc, _Desc, bool]:
    """A numbering plan's descriptions as `number_type` walks them, compiled once: the general
    one, the special types', the fixed line's and the mobile's, and whether those two share
    their pattern."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    if metadata is None:
        return None, [], None, None, False  # nothing matches
    return (
        _desc(metadata.general_desc),
        [(_desc(getattr(metadata, name)), kind) for name, kind in _SPECIAL],
        _desc(metadata.fixed_line),
        _desc(metadata.mobile),
        bool(metadata.same_mobile_and_fixed_line_pattern),
    )


def _matches(national: str, desc: _Desc) -> bool:
    return (
        desc is not None
        and (not desc[0] or len(national) in desc[0])
        and desc[1].fullmatch(national) is not None
    )


def _kind(number: PhoneNumber) -> int:
    """`phonenumbers.number_type(number)`, with the plan's patterns compiled once (it finds
    and tries each through `re`'s cache: two thirds of `normalize`)."""
    region = phonenumbers.region_code_for_number(number)
    general, special, fixed, mobile, same = _types(number.country_code, region or "")
    national = phonenumbers.national_significant_number(number)
    if not _matches(national, general):
        return PhoneNumberType.UNKNOWN
    kind = next((kind for desc, kind in special if _matches(national, desc)), None)
    if kind is not None:
        return kind
    if _matches(national, fixed):
        if same or _matches(national, mobile):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    return (
        PhoneNumberType.MOBILE
        if not same and _matches(national, mobile)
        else PhoneNumberType.UNKNOWN
    )


def _as_written(digits: str) -> PhoneNumber | None:
    """The number parse reads from `+digits` when it takes them as written: the country code
    (ITU codes are prefix-free: the first of 1 to 3 digits that is one), then the national
    number, its leading zeros kept as parse keeps them. None where parse may read them
    otherwise: no country code (a leading 0 is none), or a national number whose start the
    region's `national_prefix_for_parsing` matches (parse may strip it)."""
    if digits.startswith("0"):
        return None
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    prefix = _national_prefix(code)
    if len(national) < 2 or (prefix is not None and prefix.match(national)):
        return None
    number = PhoneNumber(country_code=code, national_number=int(national))
    if national.startswith("0"):
        number.italian_leading_zero = True
        zeros = len(national) - len(national.lstrip("0"))
        if zeros > 1:
            number.number_of_leading_zeros = zeros
    return number


@cache
def _national_prefix(code: int) -> re.Pattern[str] | None:
    """The pattern parse strips a national prefix by, for the country code's main region."""
    region = phonenumbers.region_code_for_country_code(code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    pattern = metadata.national_prefix_for_parsing if metadata is not None else None
    return re.compile(pattern) if pattern else None


def normalize(raw: object, region: str | None = None) -> str:
    """E.164 (`+4915112345678`) from `+49 151 1234-5678`, `4915112345678` or, with the
    location's `region` (ISO country code), a national form such as `0151 12345678`."""
    if not isinstance(raw, str):
        raise PhoneError("the phone must be a string")
    if len(raw) > MAX_RAW_LENGTH:
        raise PhoneError(f"the phone is longer than {MAX_RAW_LENGTH} characters")
    compact = _FORMATTING.sub("", raw)
    if not _SHAPE.match(compact):
        raise PhoneError("the phone may hold only +, ASCII digits, spaces, brackets and dashes")
    digits = compact.lstrip("+")
    parsed = _international(digits)
    if parsed is None and not compact.startswith("+") and region:
        parsed = _parse(digits, region)
    if parsed is None:
        raise PhoneError("not a valid phone number")
    e164 = phonenumbers.format_number(parsed[0], phonenumbers.PhoneNumberFormat.E164)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[e164] = parsed
    return e164


def _parsed(e164: str) -> tuple[phonenumbers.PhoneNumber, int]:
    """`e164` parsed, with its type: the number `normalize` made it from, or parsed anew (the
    same number: E.164 keeps the country code and the national number with its leading
    zeros)."""
    parsed = _PARSED.get(e164)
    if parsed is None:
        number = phonenumbers.parse(e164, None)
        parsed = number, phonenumbers.number_type(number)
    return parsed


def candidates(raw: object, regions: set[str]) -> list[str]:
    """All E.164 readings of `raw`: international first, then national in each region."""
    found: list[str] = []
    for region in [None, *sorted(regions)]:
        try:
            value = normalize(raw, region)
        except PhoneError:
            continue
        if value not in found:
            found.append(value)
    return found


def region_of(e164: str) -> str:
    return phonenumbers.region_code_for_number(_parsed(e164)[0]) or ""


def can_receive_sms(e164: str) -> bool:
    """False where the numbering plan says the line is not a mobile (fixed, VoIP, premium...)."""
    return _parsed(e164)[1] not in _NOT_FOR_SMS


def masked(e164: str) -> str:
    """For logs: the country part and the last two digits."""
    return e164[:4] + "…" + e164[-2:]
