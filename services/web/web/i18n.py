"""Page text through gettext: every string a visitor reads is a message in `locale/<lang>/LC_MESSAGES/
messages.po`, so a language is added as a catalogue, without touching templates or code.

Only English exists today. `scripts/translations` extracts the messages from the templates and the
code and updates the catalogues; a test fails when a message is missing from one."""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "en"


def available() -> tuple[str, ...]:
    return tuple(sorted(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES" / "messages.po").is_file()))


@lru_cache(maxsize=16)
def translations(locale: str) -> Translations:
    """The catalogue, compiled in memory from the committed .po file (no build step)."""
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled, domain="messages")


def negotiate(accept_language: str | None) -> str:
    """The first language the browser asks for that we have; English otherwise."""
    offered = available()
    for part in (accept_language or "").split(","):
        language = part.split(";")[0].strip().lower()
        for candidate in (language, language.split("-")[0]):
            if candidate in offered:
                return candidate
    return DEFAULT_LOCALE


def N_(message: str) -> str:
    """Marks a message written in Python for extraction; the page translates it when shown."""
    return message
