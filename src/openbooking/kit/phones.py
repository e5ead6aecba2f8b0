"""Phone numbers: every textual variant of one number becomes one E.164 string."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

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


# The numbers `normalize` gave lately, parsed, by their E.164 form: a booking normalizes its
# phone, then asks whether it may be texted (`can_receive_sms`, `region_of`), and each parse
# costs more than the rest of those checks. Bounded: emptied when full.
_PARSED: dict[str, phonenumbers.PhoneNumber] = {}
_PARSED_MAX = 4096


class PhoneError(ValueError):
    """Not a phone number we accept; the message says why, without echoing the input."""


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


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
    number = _parse("+" + digits, None)
    if number is None and not compact.startswith("+") and region:
        number = _parse(digits, region)
    if number is None:
        raise PhoneError("not a valid phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[e164] = number
    return e164


def _number(e164: str) -> phonenumbers.PhoneNumber:
    """`e164` parsed: the number `normalize` made it from, or parsed anew (the same number:
    E.164 keeps the country code and the national number with its leading zeros)."""
    number = _PARSED.get(e164)
    return number if number is not None else phonenumbers.parse(e164, None)


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
    return phonenumbers.region_code_for_number(_number(e164)) or ""


def can_receive_sms(e164: str) -> bool:
    """False where the numbering plan says the line is not a mobile (fixed, VoIP, premium...)."""
    return phonenumbers.number_type(_number(e164)) not in _NOT_FOR_SMS


def masked(e164: str) -> str:
    """For logs: the country part and the last two digits."""
    return e164[:4] + "…" + e164[-2:]
