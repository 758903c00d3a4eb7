"""Every booking change the signal announces becomes the right notice, queued in its transaction."""

from __future__ import annotations

import pytest
from notify_helpers import outbox

from hub.booking.events import booking_changed
from hub.db import database
from hub.models import Booking, BookingState
from hub.notifications import sealing
from hub.notifications.models import Channel, Kind


def _announce(
    napp, booking_id: str, change: str, status: BookingState | None = None, fail: bool = False
) -> None:
    with napp.app_context(), database(napp).session_scope() as session:
        booking = session.get(Booking, booking_id)
        if status is not None:
            booking.status = status
        booking_changed.send(napp, db=session, booking=booking, change=change)
        if fail:
            raise RuntimeError("the change is rolled back")


def test_sync_conflict_sends_a_notice_in_the_citizens_language(
    napp, nclient, login, create_clinic, set_profile, book_one, db
) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(phone="0701234567", sms_consent=True, language="de")
    booking = book_one(clinic.hsa_id)

    _announce(napp, booking["id"], "conflict", BookingState.CONFLICT)

    conflict = next(m for m in outbox(db) if m.kind == Kind.CONFLICT)
    with napp.app_context():
        text = sealing.unseal(conflict.sealed_content)["text"]
    assert text.startswith("Die Praxis konnte Ihre Buchung nicht bestätigen.")


def test_a_synced_booking_is_not_confirmed_twice(
    napp, nclient, login, create_clinic, set_profile, book_one, db
) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(phone="0701234567", sms_consent=True)
    booking = book_one(clinic.hsa_id)

    _announce(napp, booking["id"], "synced")

    assert [(m.kind, m.channel) for m in outbox(db)] == [(Kind.CONFIRMATION, Channel.SMS)]


def test_a_rolled_back_change_leaves_no_message(
    napp, nclient, login, create_clinic, set_profile, book_one, db
) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(phone="0701234567", sms_consent=True)
    booking = book_one(clinic.hsa_id)

    with pytest.raises(RuntimeError):
        _announce(napp, booking["id"], "cancelled", BookingState.CANCELLED, fail=True)

    assert [m.kind for m in outbox(db)] == [Kind.CONFIRMATION]


def test_changes_without_a_notice_queue_nothing(
    napp, nclient, login, create_clinic, set_profile, book_one, db
) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(phone="0701234567", sms_consent=True)
    booking = book_one(clinic.hsa_id)

    _announce(napp, booking["id"], "something-new")

    assert len(outbox(db)) == 1
