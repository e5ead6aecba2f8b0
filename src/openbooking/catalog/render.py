"""Catalog objects on the wire, in the field names and JSON types of each vendor reference.

Where the two references type a field differently the dialect decides (see docs/api-compat.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openbooking.catalog.languages import language_entry, translation
from openbooking.kit.clock import utc_offset_hours
from openbooking.kit.envelope import Dialect

if TYPE_CHECKING:
    from collections.abc import Sequence

    from openbooking.models import Bookform, Chain, Location, Service, ServiceCategory, StaffService

# Step titles come from the form's language table when the business file names none.
_STEP_TITLE_KEYS = {
    "city": "select_town",
    "company": "select_company",
    "service": "select_service",
    "master": "select_master",
    "datetime": "select_date",
    "contact": "input_personal",
}

_STYLE_DEFAULTS: dict[str, Any] = {
    "show_header": True,
    "logo": "",
    "header_background": "",
    "menu_background": "",
    "main_color": "#2E7D32",
    "secondary_color": "#9E9E9E",
    "buttons_color": "#FFFFFF",
    "logo_full": "",
    "header_background_full": "",
    "menu_background_full": "",
    "primaryPalette": "green",
    "accentPalette": "grey",
    "warnPalette": "red",
    "backgroundPalette": "grey",
    "main_color_theme": "light",
    "header_background_new": [],
}


def _step_title(step: dict[str, Any], lang: str) -> str:
    if step.get("title"):
        return str(step["title"])
    header = translation(lang).get("header", {})
    key = _STEP_TITLE_KEYS.get(str(step["step"]))
    return str(header.get(key, step["step"])) if key else str(step["step"])


def _steps(form: Bookform) -> list[dict[str, Any]]:
    rendered = []
    for num, step in enumerate(form.steps, start=1):
        item: dict[str, Any] = {
            "step": step["step"],
            "title": _step_title(step, form.lang),
            "num": num,
            "hidden": bool(step.get("hidden", False)),
            "default": step.get("default", -1),
            "is_title_default": not step.get("title"),
        }
        if step["step"] == "service":
            item["category_view_type"] = step.get("category_view_type", "list")
        if step["step"] == "datetime":
            item["date_hidden"] = bool(step.get("date_hidden", False))
            item["time_hidden"] = bool(step.get("time_hidden", False))
            item["date_default"] = step.get("date_default", "")
            item["time_default"] = int(step.get("time_default", 0))
        rendered.append(item)
    return rendered


def bookform(
    form: Bookform, location: Location | None, chain: Chain | None, dialect: Dialect
) -> dict[str, Any]:
    """`location` is the form's own location, or the chain's main one for a chain form."""
    analytics = form.analytics
    metrika = analytics.get("metrika_counter_id")
    app_metrika = analytics.get("app_metrika_id")
    data: dict[str, Any] = {
        "id": form.id,
        "url": "",
        "steps": _steps(form),
        "style": {**_STYLE_DEFAULTS, **form.style},
        "group_id": chain.id if chain else 0,
        "company_id": location.id if location else 0,
        "chain_main_salon_id": location.id if chain and location else 0,
        "phone_confirmation": bool(location and location.phone_confirmation),
        "lang": form.lang,
        "langs": [language_entry(code) for code in form.langs or [form.lang]],
        "comment_required": bool(location and location.booking_comment_required),
        "comment_input_name": form.comment_input_name,
        "booking_notify_text": form.booking_notify_text,
        "google_analytics_id": str(analytics.get("google_analytics_id") or ""),
        "facebook_pixel_id": str(analytics.get("facebook_pixel_id") or ""),
        "sms_enabled": form.sms_enabled,
        "is_show_privacy_policy": form.is_show_privacy_policy,
        "specialization_display_mode": form.specialization_display_mode,
        "staff_name": {},
        "without_menu": False,
        "sequence_type": "steps",
        "client_scripts": "",
        "y_injection": "",
        "first_service_category_close": False,
        "map": {},
        "salon_select_type_code": "list",
        "is_client_agreements_feature_enabled": False,
        "ab_test_enabled": False,
        "ab_test_percentage": 0,
        "is_online_sale_available": False,
        "legal_info": None,
        "online_sales_links": [],
        "google_analytics_client_id_index": None,
        "brand": {},
        "injection": {},
        "display_activity_type": "",
        "is_multiple_activity_record": False,
        "activity_record_count": 0,
        "weekly_view_enabled": False,
        "show_weekly_view_without_online_booking": False,
        "weekly_view_default_salon_id": None,
        "record_type_id": None,
        "features": {},
        "certificate_count": 0,
        "abonement_count": 0,
    }
    if dialect is Dialect.YCLIENTS:
        data["metrika_counter_id"] = "" if metrika is None else str(metrika)
        data["app_metrika_id"] = "" if app_metrika is None else str(app_metrika)
        data["vkontakte_pixel_id"] = str(analytics.get("vkontakte_pixel_id") or "")
    else:
        data["metrika_counter_id"] = None if metrika is None else int(metrika)
        data["app_metrika_id"] = None if app_metrika is None else str(app_metrika)
    return data


def _timezone_offset(location: Location, dialect: Dialect) -> str | float:
    hours = utc_offset_hours(location.timezone)
    compact = int(hours) if hours.is_integer() else hours
    return compact if dialect is Dialect.YCLIENTS else str(compact)


def location_summary(location: Location, staff_count: int, dialect: Dialect) -> dict[str, Any]:
    """A location as `GET /companies` lists it."""
    phone = location.phones[0] if location.phones else ""
    return {
        "id": location.id,
        "title": location.title,
        "short_descr": location.short_descr,
        "logo": location.logo,
        "active": "1" if location.active else "0",
        "phone": phone,
        "phones": list(location.phones),
        "country_id": 0,
        "country": location.country,
        "city_id": 0,
        "city": location.city,
        "schedule": "",
        "timezone": _timezone_offset(location, dialect),
        "timezone_name": location.timezone,
        "address": location.address,
        "coordinate_lat": location.coordinate_lat,
        "coordinate_lon": location.coordinate_lon,
        "phone_confirmation": location.phone_confirmation,
        "active_staff_count": staff_count,
        "app_ios": "",
        "app_android": "",
        "currency_short_title": location.currency,
        "group_priority": location.group_priority,
        "site": location.site,
        "booking_comment_required": location.booking_comment_required,
        "booking_email_required": location.booking_email_required,
        "booking_comment_input_name": location.booking_comment_input_name,
        "booking_notify_text": location.booking_notify_text,
        "reminds_sms_disabled": not location.sms_reminders,
        "allow_delete_record": location.allow_delete_record,
        "allow_delete_record_delay_step": location.allow_delete_record_delay_step,
        "allow_change_record": location.allow_change_record,
        "allow_change_record_delay_step": location.allow_change_record_delay_step,
        "main_group_id": location.chain_id or 0,
    }


def _zip(value: str, dialect: Dialect) -> int | str:
    """YCLIENTS types zip as a number; where that would lose a leading zero or letters, a string."""
    if dialect is Dialect.YCLIENTS and value.isascii() and value.isdigit() and value[0] != "0":
        return int(value)
    return value


def location_detail(
    location: Location,
    chain: Chain | None,
    staff_count: int,
    forms: Sequence[Bookform],
    dialect: Dialect,
) -> dict[str, Any]:
    """A location as `GET /company/{id}` shows it."""
    groups = [{"id": chain.id, "title": chain.title}] if chain else []
    return {
        **location_summary(location, staff_count, dialect),
        "zip": _zip(location.zip, dialect),
        "description": location.description,
        "social": {
            "telegram": "",
            "instagram": "",
            "vk": "",
            "facebook": "",
            "viber": "",
            "whatsapp": "",
        },
        "business_type_id": 0,
        "push_notification_phone_confirm": False,
        "main_group": groups,
        "groups": {str(group["id"]): group for group in groups},
        "bookforms": [
            {"id": form.id, "title": form.title, "is_default": int(i == 0), "url": ""}
            for i, form in enumerate(forms)
        ],
        "online_sales_form_url": "",
        "access": {},
    }


def category(row: ServiceCategory) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "gender": row.gender,
        "sex": row.gender,
        "api_id": row.api_id,
        "weight": row.weight,
    }


def service(row: Service, link: StaffService | None) -> dict[str, Any]:
    """With `link` (a member filter) the member's own length and price apply."""
    price_min = row.price_min if link is None or link.price_min is None else link.price_min
    price_max = row.price_max if link is None or link.price_max is None else link.price_max
    length = row.duration_seconds
    if link is not None and link.duration_seconds is not None:
        length = link.duration_seconds
    return {
        "id": row.id,
        "title": row.title,
        "category_id": row.category_id,
        "price_min": price_min,
        "price_max": price_max,
        "discount": row.discount,
        "comment": row.comment,
        "weight": row.weight,
        "active": int(row.active),
        "gender": row.gender,
        "sex": row.gender,
        "image": row.image,
        "images": [row.image] if row.image else [],
        "prepaid": row.prepaid,
        "seance_length": length,
        "abonement_restriction": 0,
        "prepaid_settings": {},
        "is_composite": False,
        "is_chain": False,
        "composite_details": None,
        "api_id": row.api_id,
    }
