"""Language choice (the user's pick, then Accept-Language, then Swedish) and locale formatting."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_skeleton
from flask import Flask, current_app, request, session
from flask_babel import Babel, format_date, format_time, get_locale
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from clinic_adapters.timezones import to_local

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in languages:
        return chosen
    header = request.headers.get("Accept-Language")
    return (header and _best_language(header, tuple(languages))) or current_app.config["BABEL_DEFAULT_LOCALE"]


@lru_cache(maxsize=512)
def _best_language(accept_language: str, languages: tuple[str, ...]) -> str | None:
    # Browsers send a handful of distinct headers, parsed here once each rather than per request
    # (every error answer is rendered in the user's language, nine booking attempts of ten in a
    # rush). Bounded: the header is the client's to choose.
    return parse_accept_header(accept_language, LanguageAccept).best_match(languages)


@cache
def _locale(code: str) -> Locale:
    # Flask-Babel parses the selector's answer on every request (a tenth of a refused booking
    # attempt's rendering); a Locale is immutable, and the hub offers only a few.
    return Locale.parse(code)


def _selected_locale() -> Locale:
    return _locale(select_locale())


def current_language() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def clinic_date(value: datetime, tz_name: str, fmt: str = "full") -> str:
    """Format the local day of an instant in the clinic's zone, with the user's weekday names."""
    return format_date(to_local(value, tz_name).date(), fmt)


def clinic_time(value: datetime, tz_name: str) -> str:
    """Format the wall-clock time of an instant in the clinic's zone."""
    return format_time(to_local(value, tz_name), "short", rebase=False)


def day_label(day: date, skeleton: str = "MMMEd") -> str:
    """Format a local calendar day briefly ("tis 1 dec.", "Tue, Dec 1"), ordered as the locale does."""
    return format_skeleton(skeleton, day, locale=get_locale())


def day_full(day: date) -> str:
    """Format a local calendar day in full ("tisdag 1 december 2026")."""
    return format_date(day, "full")


def clinic_day_label(value: datetime, tz_name: str) -> str:
    """Format the clinic-local day of an instant briefly, with the user's weekday names."""
    return day_label(to_local(value, tz_name).date())


def clinic_day_iso(value: datetime, tz_name: str) -> str:
    """Return the clinic-local day of an instant as YYYY-MM-DD (for links, not for reading)."""
    return to_local(value, tz_name).date().isoformat()


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(LOCALES_DIR))
    Babel(app, locale_selector=_selected_locale)
    app.jinja_env.globals.update(
        clinic_date=clinic_date,
        clinic_time=clinic_time,
        clinic_day_label=clinic_day_label,
        day_label=day_label,
        day_full=day_full,
        clinic_day_iso=clinic_day_iso,
        current_language=current_language,
    )
