"""The words of each message, in the citizen's language, and the calendar file for e-mail.

Messages never carry the personal number, the birth date, names, or anything that hints at the
reason for the visit: no slot type (e.g. "Vaccination"), practitioner or record-system note.
A discreet clinic is not named either; the citizen is sent to the portal for the details.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from babel.dates import format_date, format_time
from flask import current_app
from flask_babel import force_locale, gettext
from icalendar import Calendar, Event

from clinic_adapters.timezones import to_local, utc_now
from hub.models import Booking, Clinic
from hub.notifications.models import Kind


@dataclass(frozen=True, slots=True)
class Rendered:
    """One message in one language; ``repr`` hides the text."""

    subject: str = field(repr=False)
    text: str = field(repr=False)
    sms: str = field(repr=False)
    ics: bytes | None = field(default=None, repr=False)
    ics_method: str | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    """What a message may say about a visit: its time and, unless discreet, the clinic."""

    starts_at: datetime
    ends_at: datetime | None
    timezone: str
    clinic_name: str | None  # None when the clinic is discreet
    place: str | None

    @classmethod
    def of(cls, booking: Booking, discreet: bool) -> Visit:
        clinic = booking.clinic
        assert booking.starts_at is not None
        return cls(
            starts_at=booking.starts_at,
            ends_at=booking.ends_at,
            timezone=clinic.timezone,
            clinic_name=None if discreet else clinic.name,
            place=None if discreet else place_of(clinic),
        )


def place_of(clinic: Clinic) -> str:
    address = ", ".join(
        p for p in (clinic.street_address, " ".join(p for p in (clinic.postal_code, clinic.city) if p)) if p
    )
    return f"{clinic.name}, {address}" if address else clinic.name


def portal_url() -> str:
    return current_app.config.get("PORTAL_URL", "http://127.0.0.1:5000/").rstrip("/") + "/bookings"


def local_date(when: datetime, tz_name: str, language: str) -> str:
    return format_date(to_local(when, tz_name).date(), "full", locale=language)


def local_time(when: datetime, tz_name: str, language: str) -> str:
    return format_time(to_local(when, tz_name).time(), "short", locale=language)


def _headline(kind: Kind) -> tuple[str, str]:
    """Return (subject, first sentence) of a kind of booking message."""
    return {
        Kind.CONFIRMATION: (gettext("Booking confirmed"), gettext("Your appointment is booked.")),
        Kind.CHANGE: (gettext("Booking changed"), gettext("Your appointment has been moved.")),
        Kind.CANCELLATION: (gettext("Booking cancelled"), gettext("Your appointment has been cancelled.")),
        Kind.REMINDER: (gettext("Appointment reminder"), gettext("Reminder: you have an appointment.")),
        Kind.CONFLICT: (
            gettext("Your booking needs attention"),
            gettext("The clinic could not confirm your booking. Please check it in the portal."),
        ),
    }[kind]


def render_booking_message(kind: Kind, visit: Visit, language: str, booking_id: str) -> Rendered:
    """Render a confirmation, change, cancellation, reminder or conflict notice."""
    with force_locale(language):
        subject, headline = _headline(kind)
        when = gettext(
            "%(date)s at %(time)s",
            date=local_date(visit.starts_at, visit.timezone, language),
            time=local_time(visit.starts_at, visit.timezone, language),
        )
        lines = [headline, "", gettext("When: %(when)s", when=when)]
        if visit.place:
            lines.append(gettext("Where: %(place)s", place=visit.place))
        lines += [
            "",
            gettext("See, move or cancel your bookings in the portal: %(url)s", url=portal_url()),
            "",
            gettext("This message was sent automatically. Please do not reply to it."),
        ]
        short_when = when if not visit.clinic_name else f"{when}, {visit.clinic_name}"
        sms = f"{headline} {short_when}. " + gettext("Details: %(url)s", url=portal_url())
        ics = method = None
        if kind in {Kind.CONFIRMATION, Kind.CHANGE, Kind.CANCELLATION}:
            method = "CANCEL" if kind == Kind.CANCELLATION else "REQUEST"
            ics = calendar_file(visit, booking_id, method, language)
    return Rendered(subject=subject, text="\n".join(lines) + "\n", sms=sms, ics=ics, ics_method=method)


def calendar_file(visit: Visit, booking_id: str, method: str, language: str) -> bytes:
    """Return an iCalendar invitation in the clinic's zone (with its VTIMEZONE)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Regional booking hub//Notifications//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", f"{booking_id}@bookings.hub")
    event.add("dtstamp", utc_now())
    # Later versions of the same booking must win in the citizen's calendar.
    event.add("sequence", int(utc_now().timestamp()))
    event.add("dtstart", to_local(visit.starts_at, visit.timezone))
    if visit.ends_at is not None:
        event.add("dtend", to_local(visit.ends_at, visit.timezone))
    with force_locale(language):
        summary = gettext("Appointment")
        description = gettext("Details: %(url)s", url=portal_url())
    event.add("summary", f"{summary}: {visit.clinic_name}" if visit.clinic_name else summary)
    if visit.place:
        event.add("location", visit.place)
    event.add("description", description)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("url", portal_url())
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


ALLOWED_PLACEHOLDERS = frozenset({"date", "time", "place", "clinic_name", "portal_url"})


def render_bulk(template: str, visit: Visit, language: str) -> str:
    """Fill a checked bulk template (see ``hub.notifications.bulk.check_template``)."""
    values = {
        "date": local_date(visit.starts_at, visit.timezone, language),
        "time": local_time(visit.starts_at, visit.timezone, language),
        "place": visit.place or "",
        "clinic_name": visit.clinic_name or "",
        "portal_url": portal_url(),
    }
    return template.format_map(values)
