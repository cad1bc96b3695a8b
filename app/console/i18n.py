"""The console's languages: English message ids, a zh-CN gettext catalogue (the default language)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po
from fastapi import Request

from app.core.problem_i18n import EN, ZH_CN

LANG_COOKIE = "linli_console_lang"
LANGUAGES = (ZH_CN, EN)
_LOCALE_DIR = Path(__file__).with_name("locale")


@lru_cache
def catalogue(language: str) -> dict[str, str]:
    """The translations of one language, read from its `.po` file once (English: the symbolic ids only)."""
    path = _LOCALE_DIR / language.replace("-", "_") / "LC_MESSAGES" / "console.po"
    with path.open("rb") as fh:
        messages = read_po(fh)
    return {str(m.id): str(m.string) for m in messages if m.id and m.string}


def language_of(request: Request) -> str:
    """The page language: `?lang=` first, then the cookie, else zh-CN."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return asked if asked in LANGUAGES else ZH_CN


def translator(language: str) -> Callable[[str], str]:
    """A gettext-style `_` for templates and flash messages."""
    table = catalogue(language)

    def gettext(message: str) -> str:
        return table.get(message, message)

    return gettext
