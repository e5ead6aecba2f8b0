from __future__ import annotations

from collections import Counter

import pytest

from openbooking.kit.auth import Credentials, client_address, new_token, parse_authorization
from openbooking.kit.crypto import new_code


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer abc123", Credentials("abc123", None)),
        ("Bearer abc123, User u456", Credentials("abc123", "u456")),
        ("Bearer abc123,User u456", Credentials("abc123", "u456")),
        ("Bearer abc123 ,User u456", Credentials("abc123", "u456")),
        ("  Bearer   abc123  ,   User   u456  ", Credentials("abc123", "u456")),
        ("bearer abc123, user u456", Credentials("abc123", "u456")),
    ],
)
def test_accepts_every_spacing_real_sdks_send(header: str, expected: Credentials) -> None:
    assert parse_authorization(header) == expected


@pytest.mark.parametrize(
    "header",
    [None, "", "abc123", "Basic abc123", "Bearer", "Bearer a b", "Bearer abc, Admin u", "Bearer ,"],
)
def test_rejects_malformed_headers(header: str | None) -> None:
    assert parse_authorization(header) is None


def test_rejects_oversized_header() -> None:
    assert parse_authorization("Bearer " + "a" * 5000) is None


def test_t18_tokens_carry_256_bits_and_do_not_repeat() -> None:
    tokens = {new_token() for _ in range(10**5)}
    assert len(tokens) == 10**5
    assert all(len(token) >= 43 for token in tokens)


def test_t18_codes_are_six_ascii_digits_and_spread_evenly() -> None:
    codes = [new_code() for _ in range(10**5)]
    assert all(len(code) == 6 and code.isascii() and code.isdigit() for code in codes)
    first_digits = Counter(code[0] for code in codes)
    assert set(first_digits) == set("0123456789")
    assert max(first_digits.values()) < 1.1 * min(first_digits.values())


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.7", "192.0.2.1", [], "203.0.113.7"),
        ("10.0.0.5", "192.0.2.1", ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.5", "6.6.6.6, 192.0.2.1, 10.0.0.9", ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.5", "garbage", ["10.0.0.0/8"], "10.0.0.5"),
        ("10.0.0.5", None, ["10.0.0.0/8"], "10.0.0.5"),
        (None, "192.0.2.1", [], "unknown"),
        # An IPv6 client is its /64: rotating the low bits gives no fresh budget.
        ("2001:db8:1:2:aaaa::1", None, [], "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", None, [], "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", None, [], "2001:db8:1:3::/64"),
        ("10.0.0.5", "2001:DB8:1:2::7", ["10.0.0.0/8"], "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", None, [], "203.0.113.7"),
        ("testclient", None, [], "testclient"),  # not an address: kept as it is
        # Text longer than any address is parsed each time, not kept, and read the same way.
        ("10.0.0.5", "x" * 80 + ", 192.0.2.1", ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.5", "192.0.2.1, " + "9" * 80, ["10.0.0.0/8"], "10.0.0.5"),
    ],
)
def test_t13_client_address(
    peer: str | None, forwarded: str | None, trusted: list[str], expected: str
) -> None:
    assert client_address(peer, forwarded, trusted) == expected
    assert client_address(peer, forwarded, trusted) == expected  # parsed addresses are kept
