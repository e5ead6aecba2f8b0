"""The review form on the wire (Altegio `master_record_review`; YCLIENTS types `payed_cost` as a
string)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openbooking.kit.clock import zone
from openbooking.kit.envelope import Dialect

if TYPE_CHECKING:
    from openbooking.models import Location, Position, Record, Review, Staff
    from openbooking.reviews.service import Rating

# ISO 4217: numeric code, name, symbol, whether the symbol follows the amount. Others are shown
# by their code.
CURRENCIES: dict[str, tuple[int, str, str, bool]] = {
    "USD": (840, "US Dollar", "$", False),
    "EUR": (978, "Euro", "€", True),
    "GBP": (826, "Pound Sterling", "£", False),
    "RUB": (643, "Russian Ruble", "₽", True),
    "UAH": (980, "Hryvnia", "₴", True),
    "KZT": (398, "Tenge", "₸", True),
    "CHF": (756, "Swiss Franc", "CHF", False),
    "PLN": (985, "Zloty", "zł", True),
    "CZK": (203, "Czech Koruna", "Kč", True),
    "CAD": (124, "Canadian Dollar", "$", False),
    "AUD": (36, "Australian Dollar", "$", False),
}
# The vendor's language ids (as in `bookform.langs`) and the `iso` of its sample.
LANGUAGES: dict[str, tuple[int, str]] = {"ru-RU": (1, "ru"), "en-US": (2, "usa")}
TITLES = {"en-US": "Leave feedback", "ru-RU": "Оставить отзыв"}


def _stamp(record: Record, location: Location) -> str:
    return record.starts_at.astimezone(zone(location.timezone)).strftime("%Y-%m-%dT%H:%M:%S%z")


def currency(code: str) -> dict[str, Any]:
    number, name, symbol, after = CURRENCIES.get(code, (0, code, code, True))
    return {
        "id": number,
        "iso": code,
        "name": name,
        "symbol": symbol,
        "is_symbol_after_amount": after,
    }


def form(  # noqa: PLR0917 - the rows of one query, in its order
    review: Review,
    record: Record,
    location: Location,
    staff: Staff,
    position: Position | None,
    rating: Rating,
    cost: float,
    dialect: Dialect,
) -> dict[str, Any]:
    language_id, iso = LANGUAGES.get(location.language, (2, "usa"))
    submitted = review.submitted_at is not None
    return {
        "favicon_url": location.logo,
        "is_review_submitted": submitted,
        "page_title": TITLES.get(location.language, TITLES["en-US"]),
        "master": {
            "id": staff.id,
            "name": staff.name,
            "company_id": location.id,
            "specialization": staff.specialization,
            "rating": round(rating.rating),
            "show_rating": int(staff.show_rating),
            "avatar": staff.avatar,
            "prepaid": "forbidden",
            "position": {"id": position.id, "title": position.title}
            if position
            else {"id": 0, "title": ""},
        },
        "company": {
            "id": location.id,
            "title": location.title,
            "logo": location.logo,
            "address": location.address,
        },
        "tips": [{"amount": review.tips_amount, "currency": location.currency, "is_paid": False}]
        if submitted and review.tips_amount > 0
        else [],
        "record": {
            "id": record.id,
            "payed_cost": f"{cost:g}" if dialect is Dialect.YCLIENTS else cost,
            "date": _stamp(record, location),
        },
        "currency": currency(location.currency),
        # No terms or agreement pages of their own: the location's policy is /privacy_policy.
        "agreement_links": {"terms_of_use": "", "confidentiality_agreement": ""},
        "language": {"id": language_id, "locale": location.language, "iso": iso},
    }
