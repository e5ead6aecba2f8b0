"""The SMS texts, in the location's language."""

from __future__ import annotations

_TEXTS = {
    "en-US": "{code} is your code for {place}. It is valid for {minutes} minutes.",
    "ru-RU": "{code} — ваш код для {place}. Он действует {minutes} мин.",
}


def code_text(language: str, code: str, place: str, ttl_seconds: int) -> str:
    template = _TEXTS.get(language, _TEXTS["en-US"])
    return template.format(code=code, place=place, minutes=max(1, ttl_seconds // 60))
