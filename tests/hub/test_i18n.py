"""Every user-facing string is translated; the catalogue template matches the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("sv", "en", "de")


def _catalogue(language: str):
    with open(ROOT / "locales" / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_has_no_untranslated_or_fuzzy_entry(language: str) -> None:
    catalogue = _catalogue(language)
    missing = [m.id for m in catalogue if m.id and (not m.string or m.fuzzy)]
    assert missing == []


def test_catalogue_template_is_not_stale(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "lazy_gettext",
            "-k",
            "_l",
            "-o",
            str(fresh),
            "--no-location",
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with open(fresh, "rb") as handle:
        extracted = {m.id for m in read_po(handle) if m.id}
    for language in LANGUAGES:
        known = {m.id for m in _catalogue(language) if m.id}
        assert extracted - known == set(), f"run scripts/i18n-update.sh: new strings missing in {language}"


def test_accept_language_then_the_users_choice(client) -> None:
    assert "Hitta en mottagning" in client.get("/").get_data(as_text=True)  # Swedish by default
    assert "Praxis finden" in client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    from web_support import csrf_token

    token = csrf_token(client, "/")
    client.post("/language", data={"lang": "en", "csrf_token": token, "next": "/"})
    page = client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Find a clinic" in page and 'lang="en"' in page


@pytest.mark.parametrize(
    ("header", "heading"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", "Find a clinic"),  # the first language offered, by weight
        ("de-AT", "Praxis finden"),  # a regional variant falls back to its language
        ("en;q=0.2,de;q=0.7", "Praxis finden"),
        ("fr, it", "Hitta en mottagning"),  # nothing offered: Swedish
        ("", "Hitta en mottagning"),
        ("en-GB", "Find a clinic"),
    ],
)
def test_accept_language_picks_the_best_offered_language(client, header: str, heading: str) -> None:
    # Twice each, and between other languages' requests: an answer remembered for one header
    # never leaks into another's.
    for _ in range(2):
        assert heading in client.get("/", headers={"Accept-Language": header}).get_data(as_text=True)
        assert "Praxis finden" in client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)


def test_weekday_names_follow_the_locale(client, create_clinic) -> None:
    from booking_helpers import bookable_day

    clinic = create_clinic()
    day = bookable_day()
    url = f"/clinics/{clinic.hsa_id}/times?slot_type=LAKARBESOK&from={day}&to={day}"
    swedish = client.get(url, headers={"Accept-Language": "sv"}).get_data(as_text=True)
    german = client.get(url, headers={"Accept-Language": "de"}).get_data(as_text=True)
    from babel.dates import format_date

    assert format_date(day, "full", locale="sv") in swedish
    assert format_date(day, "full", locale="de") in german
