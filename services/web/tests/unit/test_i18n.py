"""Every word a visitor reads goes through gettext: the English catalogue holds every message in the
templates and the code, and nothing that is no longer used."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from web import i18n

pytestmark = pytest.mark.unit

PACKAGE = Path(i18n.__file__).parent
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def _extracted() -> set[str]:
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(PACKAGE), METHODS, OPTIONS, keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_the_english_catalogue_holds_every_message_and_no_stale_one() -> None:
    with (PACKAGE / "locale" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalogue = {m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(source) if m.id}

    extracted = _extracted()

    assert extracted - catalogue == set(), "run scripts/translations: these messages are not in the catalogue"
    assert catalogue - extracted == set(), "run scripts/translations: these catalogue messages are used nowhere"
    assert len(extracted) > 150


@pytest.mark.parametrize(("header", "chosen"), [(None, "en"), ("nl-NL,nl;q=0.9,en;q=0.8", "en"), ("en-GB", "en"),
                                                ("fr", "en")])  # fmt: skip
def test_the_language_is_the_first_the_browser_asks_for_that_we_have(header: str | None, chosen: str) -> None:
    assert i18n.negotiate(header) == chosen
    assert "en" in i18n.available()
