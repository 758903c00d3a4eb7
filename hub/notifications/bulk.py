"""Bulk messages for clinic administrators: choose recipients, review, fill a template, send, report.

Templates may use only ``{date}``, ``{time}``, ``{place}``, ``{clinic_name}`` and ``{portal_url}``:
there is no placeholder for names, personal numbers, birth dates or slot types, so no template can
put health data or identity into a message. Recipients without consent or an address for a channel
are listed in the review and never sent to on that channel.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clinic_adapters.timezones import local_day_bounds_utc, utc_now
from hub import audit
from hub.citizens import unseal
from hub.errors import NotFound, ValidationFailed
from hub.models import Booking, BookingState, Clinic
from hub.notifications import sealing
from hub.notifications.contacts import profile_of
from hub.notifications.messages import ALLOWED_PLACEHOLDERS, Visit, render_bulk
from hub.notifications.models import BulkSend, Channel, Kind, NotificationProfile, OutboxMessage
from hub.notifications.outbox import add_message, is_discreet

MAX_TEMPLATE_LENGTH = 1000
# Ten or twelve digits, optionally split: what a personal number (or a birth date with its
# last four) looks like when typed into a free text.
PERSONAL_NUMBER_LIKE = re.compile(r"(?<!\d)(\d{2})?\d{6}[-+ ]?\d{4}(?!\d)")
DISCREET_REFUSED = frozenset({"place", "clinic_name"})


@dataclass(frozen=True)
class Criteria:
    """Which bookings a bulk message goes to: a local day and/or a slot type, upcoming only."""

    day: date | None = None
    slot_type_code: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"day": self.day.isoformat() if self.day else None, "slot_type": self.slot_type_code}


@dataclass(frozen=True)
class ReviewRow:
    """One booking in the review list; ``status`` per channel is ok, no_consent or no_contact."""

    booking_id: str
    starts_at: datetime
    citizen_name: str = field(repr=False)
    status: dict[str, str]

    @property
    def included(self) -> bool:
        return any(s == "ok" for s in self.status.values())


@dataclass(frozen=True)
class Report:
    bulk_id: str
    counts: dict[str, dict[str, int]]  # channel → state → count
    excluded: dict[str, int]  # "<channel>:<reason>" → count


def select_bookings(db: Session, clinic: Clinic, criteria: Criteria) -> list[Booking]:
    """Return the clinic's active, upcoming bookings that match the criteria, soonest first."""
    stmt = select(Booking).where(
        Booking.clinic_id == clinic.id,
        Booking.status.in_([BookingState.BOOKED, BookingState.PENDING_SYNC]),
        Booking.starts_at > utc_now(),
    )
    if criteria.day is not None:
        start, end = local_day_bounds_utc(criteria.day, clinic.timezone)
        stmt = stmt.where(Booking.starts_at >= start, Booking.starts_at < end)
    if criteria.slot_type_code:
        stmt = stmt.where(Booking.slot_type_code == criteria.slot_type_code)
    return list(db.scalars(stmt.order_by(Booking.starts_at)))


def _status(profile: NotificationProfile | None, channel: Channel) -> str:
    if profile is None:
        return "no_contact"
    consent = profile.email_consent if channel == Channel.EMAIL else profile.sms_consent
    present = profile.has_email if channel == Channel.EMAIL else profile.has_phone
    if not present:
        return "no_contact"
    return "ok" if consent else "no_consent"


def review(
    db: Session, clinic: Clinic, criteria: Criteria, channels: list[Channel], actor_id: str
) -> list[ReviewRow]:
    """List the recipients with what each channel lacks; the staff read is audited."""
    rows = []
    for booking in select_bookings(db, clinic, criteria):
        profile = profile_of(db, booking.citizen_id)
        identity = unseal(booking.citizen)
        assert booking.starts_at is not None
        rows.append(
            ReviewRow(
                booking_id=booking.id,
                starts_at=booking.starts_at,
                citizen_name=f"{identity.given_name} {identity.family_name}",
                status={c.value: _status(profile, c) for c in channels},
            )
        )
    audit.record(
        db,
        actor_kind="staff",
        actor_id=actor_id,
        action="notifications.bulk_review",
        clinic_id=clinic.id,
        bookings=len(rows),
        **criteria.as_dict(),
    )
    return rows


def check_template(text: str, *, discreet: bool, language: str = "sv") -> str:
    """Return the template if it uses only allowed placeholders; raise a 422 otherwise."""
    field_name = f"template_{language}"

    def refuse(message: object) -> ValidationFailed:
        return ValidationFailed(fields={field_name: [message]})

    text = text.strip()
    if not text:
        raise refuse(_l("Write the message."))
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise refuse(_l("Write at most %(count)s characters.", count=MAX_TEMPLATE_LENGTH))
    if PERSONAL_NUMBER_LIKE.search(text):
        raise refuse(_l("Messages must not contain personal identity numbers or birth dates."))
    allowed = ALLOWED_PLACEHOLDERS - DISCREET_REFUSED if discreet else ALLOWED_PLACEHOLDERS
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        raise refuse(_l("Write placeholders as {time}; write a brace on its own as {{ or }}.")) from None
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in allowed or spec or conversion:
            raise refuse(
                _l(
                    "Only these placeholders may be used: %(names)s.",
                    names=", ".join("{" + n + "}" for n in sorted(allowed)),
                )
            )
    return text


def send_bulk(
    db: Session,
    clinic: Clinic,
    *,
    criteria: Criteria,
    channels: list[Channel],
    templates: dict[str, str],
    actor_id: str,
    excluded_bookings: frozenset[str] = frozenset(),
) -> BulkSend:
    """Queue the message for every reachable recipient; others are counted, never sent to."""
    discreet = is_discreet(db, clinic.id)
    if not channels:
        raise ValidationFailed(fields={"channels": [_l("Choose at least one way to send.")]})
    if "sv" not in templates:
        raise ValidationFailed(fields={"template_sv": [_l("Write the message.")]})
    checked = {
        lang: check_template(text, discreet=discreet, language=lang) for lang, text in templates.items()
    }
    bulk = BulkSend(
        clinic_id=clinic.id,
        created_by=actor_id,
        channels=[c.value for c in channels],
        templates=checked,
        criteria=criteria.as_dict(),
    )
    db.add(bulk)
    db.flush()
    excluded: Counter[str] = Counter()
    for booking in select_bookings(db, clinic, criteria):
        if booking.id in excluded_bookings:
            excluded["chosen"] += 1
            continue
        profile = profile_of(db, booking.citizen_id)
        visit = Visit.of(booking, discreet)
        for channel in channels:
            status = _status(profile, channel)
            if status != "ok" or profile is None:
                excluded[f"{channel.value}:{status}"] += 1
                continue
            language = profile.language if profile.language in checked else "sv"
            text = render_bulk(checked[language], visit, language)
            with force_locale(language):
                subject = (
                    gettext("Message about your appointment")
                    if discreet
                    else gettext("Message from %(clinic)s", clinic=clinic.name)
                )
            content = {"language": language, "text": text}
            if channel == Channel.EMAIL:
                content["subject"] = subject
            add_message(
                db,
                dedupe_key=f"bulk:{bulk.id}:{booking.id}:{channel.value}",
                content=sealing.seal(content),
                kind=Kind.BULK,
                channel=channel,
                citizen_id=booking.citizen_id,
                clinic_id=clinic.id,
                booking_id=booking.id,
                bulk_id=bulk.id,
                visit_at=booking.starts_at,
            )
    bulk.excluded = dict(excluded)
    audit.record(
        db,
        actor_kind="staff",
        actor_id=actor_id,
        action="notifications.bulk_sent",
        clinic_id=clinic.id,
        bulk_id=bulk.id,
        excluded=sum(excluded.values()),
    )
    db.flush()
    return bulk


def report(db: Session, clinic: Clinic, bulk_id: str) -> Report:
    """Count what went out, what waits, what failed and who was left out of a bulk message."""
    bulk = db.get(BulkSend, bulk_id)
    if bulk is None or bulk.clinic_id != clinic.id:
        raise NotFound(_l("We could not find that message."))
    counts: dict[str, dict[str, int]] = {}
    for channel, state, count in db.execute(
        select(OutboxMessage.channel, OutboxMessage.state, func.count())
        .where(OutboxMessage.bulk_id == bulk_id)
        .group_by(OutboxMessage.channel, OutboxMessage.state)
    ):
        counts.setdefault(channel, {})[state] = count
    return Report(bulk_id=bulk.id, counts=counts, excluded=dict(bulk.excluded))
