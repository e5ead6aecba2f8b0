"""Widget languages: the vendor's numeric ids and the bundled string tables."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import orjson

# The vendor's language ids, as booking forms report them in `langs`.
LANGUAGES: dict[str, tuple[int, str]] = {
    "ru-RU": (1, "Русский"),
    "en-US": (2, "English"),
    "lv-LV": (4, "Latviešu"),
    "et-EE": (5, "Eesti"),
    "lt-LT": (6, "Lietuvių"),
    "uk-UK": (7, "Українська"),
    "fr-FR": (8, "Français"),
    "it-IT": (9, "Italiano"),
    "es-ES": (10, "Español"),
}


def _table_names() -> set[str]:
    folder = resources.files("openbooking.catalog") / "i18n"
    return {
        entry.name.removesuffix(".json")
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    }


@lru_cache(maxsize=1)
def available_translations() -> frozenset[str]:
    return frozenset(_table_names())


@lru_cache(maxsize=16)
def translation_bytes(code: str) -> bytes | None:
    """The serialized string table for `code`, or None; it never changes at run time."""
    if code not in available_translations():
        return None
    path = resources.files("openbooking.catalog") / "i18n" / f"{code}.json"
    return orjson.dumps(orjson.loads(path.read_bytes()))


@lru_cache(maxsize=16)
def translation(code: str) -> dict[str, Any]:
    raw = translation_bytes(code)
    return {} if raw is None else dict(orjson.loads(raw))


def language_entry(code: str) -> dict[str, Any]:
    lang_id, title = LANGUAGES.get(code, (0, code))
    return {"id": lang_id, "code": code, "title": title}
