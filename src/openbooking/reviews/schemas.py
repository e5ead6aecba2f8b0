"""The review form's body and answers (spec §G; Altegio `master_record_review`)."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema

from openbooking.kit.envelope import Answer, Message
from openbooking.kit.wire import Clean, Schema

MAX_TIPS = 1_000_000
MAX_TEXT = 2000


def _stars(value: object) -> int:
    """1 to 5, as a number or its string (`5`, `"5"`, `5.0`)."""
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and len(value) <= 8:
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not number.is_integer() or not 1 <= number <= 5:
        raise ValueError("expected a whole number of stars from 1 to 5")
    return int(number)


def _amount(value: object) -> float | None:
    """A tip: a number ≥ 0 (or its string), at most `MAX_TIPS`; empty is none."""
    if value is None or value == "":
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and len(value) <= 20:
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or not 0 <= number <= MAX_TIPS:
        raise ValueError(f"expected an amount from 0 to {MAX_TIPS}")
    return round(number, 2)


Stars = Annotated[
    int,
    BeforeValidator(_stars),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 5}),
]
Amount = Annotated[
    float | None,
    BeforeValidator(_amount),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": MAX_TIPS}),
]


class ReviewBody(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"rating": 5, "text": "Excellent service!", "tips_amount": 5}]
        }
    )

    rating: Stars = Field(description="Stars, 1 to 5")
    text: Annotated[str | None, Clean(MAX_TEXT, multiline=True)] = None
    tips_amount: Amount = Field(
        None, description="Recorded for the team member; no payment is taken online"
    )
    redirect_prefix: Annotated[str | None, Clean(1024)] = Field(
        None, description="Accepted and ignored: there is no payment page to return from"
    )


# Answers ---------------------------------------------------------------------------------------


class ReviewPosition(Answer):
    id: int
    title: str


class ReviewMaster(Answer):
    id: int
    name: str
    company_id: int
    specialization: str
    rating: int = Field(description="The member's average, rounded to whole stars")
    show_rating: Literal[0, 1]
    avatar: str
    prepaid: str = Field(examples=["forbidden"])
    position: ReviewPosition = Field(description='`{id: 0, title: ""}` without a position')


class ReviewCompany(Answer):
    id: int
    title: str
    logo: str
    address: str


class ReviewTip(Answer):
    amount: float
    currency: str = Field(description="ISO 4217 code")
    is_paid: Literal[False] = Field(description="No payment is taken online")


class _ReviewRecord(Answer):
    id: int
    date: str = Field(examples=["2026-08-11T15:00:00-0500"], description="Local, with the offset")


class ReviewRecord(_ReviewRecord):
    payed_cost: float = Field(description="The visit's price (paid at the location)")


class ReviewRecordY(_ReviewRecord):
    payed_cost: str = Field(description="The visit's price (paid at the location)")


class ReviewCurrency(Answer):
    id: int = Field(description="ISO 4217 numeric code (0 when unknown)")
    iso: str
    name: str
    symbol: str
    is_symbol_after_amount: bool


class ReviewLinks(Answer):
    terms_of_use: str
    confidentiality_agreement: str


class ReviewLanguage(Answer):
    id: int
    locale: str
    iso: str


class _ReviewForm(Answer):
    favicon_url: str
    is_review_submitted: bool
    page_title: str
    master: ReviewMaster
    company: ReviewCompany
    tips: list[ReviewTip] = Field(description="The tip recorded with the review, if any")
    currency: ReviewCurrency
    agreement_links: ReviewLinks
    language: ReviewLanguage


class ReviewForm(_ReviewForm):
    record: ReviewRecord


class ReviewFormY(_ReviewForm):
    record: ReviewRecordY


class ReviewCharge(Answer):
    charge: None = Field(description="No payment page: tips are recorded, not charged")


class ReviewSubmitted(Answer):
    """`{"success": true, "data": {"charge": null}, "meta": {"message": ...}}`."""

    success: Literal[True]
    data: ReviewCharge
    meta: Message
