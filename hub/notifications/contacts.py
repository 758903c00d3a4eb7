"""Citizens' contact details and consent per channel: validated, normalised, sealed, audited."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

import phonenumbers
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from hub import audit
from hub.driver_reads import DriverRead
from hub.errors import ValidationFailed
from hub.models import Citizen
from hub.notifications import sealing
from hub.notifications.models import Channel, NotificationProfile

# Deliberately plain: one @, no spaces or angle brackets, a dotted domain. Deliverability is
# proven by the mail arriving, not by a longer pattern.
EMAIL_PATTERN = re.compile(
    r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)


@dataclass(frozen=True, slots=True)
class Contact:
    """A citizen's addresses; ``repr`` never shows them."""

    email: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)

    def address(self, channel: Channel) -> str | None:
        return self.email if channel == Channel.EMAIL else self.phone


def normalise_email(raw: str) -> str:
    """Return the address with its domain in lower case, or raise a translated error."""
    value = raw.strip()
    if len(value) > 254 or not EMAIL_PATTERN.match(value):
        raise ValidationFailed(fields={"email": [_l("Enter an e-mail address such as name@example.se.")]})
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalise_phone(raw: str, region: str | None = None) -> str:
    """Return a mobile number in E.164 form (+46701234567), or raise a translated error."""

    def refused() -> ValidationFailed:
        return ValidationFailed(fields={"phone": [_l("Enter a mobile number such as 070-123 45 67.")]})

    try:
        number = phonenumbers.parse(raw, region or current_app.config.get("SMS_DEFAULT_REGION", "SE"))
    except phonenumbers.NumberParseException:
        raise refused() from None
    if not phonenumbers.is_valid_number(number):
        raise refused()
    if phonenumbers.number_type(number) not in {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }:
        raise ValidationFailed(fields={"phone": [_l("Text messages need a mobile number.")]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def profile_of(db: Session, citizen_id: str) -> NotificationProfile | None:
    return db.get(NotificationProfile, citizen_id)


class Reach(NamedTuple):
    """What queueing a message needs of a citizen's profile: their consent, whether each address
    is given, and their language. The sealed contact details stay in the database."""

    email_consent: bool
    has_email: bool
    sms_consent: bool
    has_phone: bool
    language: str

    reachable = NotificationProfile.reachable


_profile = NotificationProfile.__table__.c
_REACH = DriverRead(
    select(*(_profile[name] for name in Reach._fields)).where(_profile.citizen_id == bindparam("citizen_id"))
)


def reach_of(db: Session, citizen_id: str) -> Reach | None:
    """A citizen's :class:`Reach` (``None``: no profile). Every booking asks it: a plain read,
    without building the profile as an object of the session."""
    row = _REACH.first(db, {"citizen_id": citizen_id})
    return None if row is None else Reach(*row)


def contact_of(profile: NotificationProfile | None) -> Contact:
    if profile is None or not profile.sealed_contact:
        return Contact()
    data = sealing.unseal(profile.sealed_contact)
    return Contact(email=data.get("email"), phone=data.get("phone"))


def update_profile(
    db: Session,
    citizen: Citizen,
    *,
    email: str | None,
    phone: str | None,
    email_consent: bool,
    sms_consent: bool,
    language: str,
) -> NotificationProfile:
    """Save the citizen's own contact details and consent; consent needs an address to go to."""
    problems: dict[str, list[object]] = {}
    clean_email = clean_phone = None
    for name, raw, normalise in (("email", email, normalise_email), ("phone", phone, normalise_phone)):
        if raw and raw.strip():
            try:
                value = normalise(raw)
            except ValidationFailed as error:
                problems.update(error.fields)
                continue
            if name == "email":
                clean_email = value
            else:
                clean_phone = value
    if email_consent and not (email and email.strip()) and "email" not in problems:
        problems["email"] = [_l("Give an e-mail address to get messages by e-mail.")]
    if sms_consent and not (phone and phone.strip()) and "phone" not in problems:
        problems["phone"] = [_l("Give a mobile number to get text messages.")]
    if language not in current_app.config["LANGUAGES"]:
        problems["language"] = [_l("Choose one of the languages offered.")]
    if problems:
        raise ValidationFailed(fields=problems)
    profile = profile_of(db, citizen.id) or NotificationProfile(citizen_id=citizen.id)
    db.add(profile)
    profile.sealed_contact = sealing.seal({"email": clean_email, "phone": clean_phone})
    profile.has_email = clean_email is not None
    profile.has_phone = clean_phone is not None
    profile.email_consent = email_consent
    profile.sms_consent = sms_consent
    profile.language = language
    db.flush()
    audit.record(
        db,
        actor_kind="citizen",
        actor_id=citizen.id,
        action="notifications.profile_updated",
        citizen_id=citizen.id,
        email_consent=email_consent,
        sms_consent=sms_consent,
    )
    return profile
