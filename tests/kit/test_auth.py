from __future__ import annotations

import pytest

from openbooking.kit.auth import Credentials, new_token, parse_authorization


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


def test_tokens_carry_256_bits_and_do_not_repeat() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(token) >= 43 for token in tokens)
