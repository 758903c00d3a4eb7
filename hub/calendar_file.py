"""The calendar file (.ics) a citizen downloads from a booking's page.

Times are written in the clinic's own zone with its VTIMEZONE, so a calendar shows the visit at
the clinic's wall-clock time on both sides of a daylight-saving change. The UID is the one the
e-mailed invitations use (see ``hub.notifications.messages``): a download and an e-mail update
the same event instead of adding a second one.
"""

from __future__ import annotations

from flask_babel import gettext
from icalendar import Calendar, Event

from clinic_adapters.timezones import to_local, utc_now
from hub.models import Booking


def _place(booking: Booking) -> str:
    clinic = booking.clinic
    town = " ".join(p for p in (clinic.postal_code, clinic.city) if p)
    return ", ".join(p for p in (clinic.name, clinic.street_address, town) if p)


def booking_calendar(booking: Booking, title: str, page_url: str) -> bytes:
    """Return an iCalendar file with the booking as one event in the clinic's time zone."""
    if booking.starts_at is None:
        raise ValueError("a booking without a time has no calendar entry")
    tz_name = booking.clinic.timezone
    calendar = Calendar()
    calendar.add("prodid", "-//Regional booking hub//Portal//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{booking.id}@bookings.hub")
    event.add("dtstamp", utc_now())
    # A later download after a move must replace the earlier one in the citizen's calendar.
    event.add("sequence", int(utc_now().timestamp()))
    event.add("dtstart", to_local(booking.starts_at, tz_name))
    if booking.ends_at is not None:
        event.add("dtend", to_local(booking.ends_at, tz_name))
    event.add("summary", f"{title}: {booking.clinic.name}")
    event.add("location", _place(booking))
    lines = [booking.message] if booking.message else []
    lines.append(gettext("Details: %(url)s", url=page_url))
    event.add("description", "\n".join(lines))
    event.add("status", "CANCELLED" if booking.status == "cancelled" else "CONFIRMED")
    event.add("url", page_url)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
