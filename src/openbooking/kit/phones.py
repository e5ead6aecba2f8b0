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
    parsed = _parse("+" + digits, None)
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
