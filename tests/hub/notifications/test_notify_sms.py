"""SMS through a real HTTP provider on 127.0.0.1 that honours the idempotency key; the dev file provider."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta

import pytest
from notify_helpers import make_worker, outbox

from clinic_adapters.timezones import utc_now
from hub.notifications.channels import Outgoing
from hub.notifications.channels.sms import FileSmsSender
from hub.notifications.models import Channel, State


class Killed(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs."""


class DiesAfterSending:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.idempotent = inner.idempotent

    def send(self, message) -> str:
        self.inner.send(message)
        raise Killed


def test_sms_is_sent_in_the_citizens_language_without_personal_data(
    napp, nclient, login, create_clinic, set_profile, book_one, sms_provider
) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    saved = set_profile(phone="070-123 45 67", sms_consent=True, language="en")
    assert saved["phone"] == "+46701234567"
    book_one(clinic.hsa_id)

    assert make_worker(napp, sms=sms_provider).run_once() == 1

    (delivered,) = sms_provider.delivered.values()
    assert delivered["to"] == "+46701234567"
    assert delivered["text"].startswith("Your appointment is booked.")
    assert clinic.name in delivered["text"] and "https://portal.example/bookings" in delivered["text"]
    for secret in ("191212121212", "121212-1212", "Tolvan", "Doctor", "LAKARBESOK"):
        assert secret not in delivered["text"]


def test_worker_killed_between_send_and_mark_does_not_send_twice_and_sends_the_unsent(
    napp, nclient, login, create_clinic, set_profile, book_one, sms_provider, db
) -> None:
    clinic = create_clinic(capacity=2)
    login(nclient, "tolvan")
    set_profile(phone="0701234567", sms_consent=True)
    first, second = book_one(clinic.hsa_id, 0), book_one(clinic.hsa_id, 1)

    doomed = make_worker(napp, sms=sms_provider)
    doomed.senders = {Channel.SMS: DiesAfterSending(doomed.senders[Channel.SMS])}
    with contextlib.suppress(Killed):
        doomed.run_once()
    assert len(sms_provider.delivered) == 1
    assert {m.booking_id: m.state for m in outbox(db)} == {
        first["id"]: State.SENDING,
        second["id"]: State.PENDING,
    }

    restarted = make_worker(napp, sms=sms_provider, sending_lease_seconds=300)
    restarted.run_once(now=utc_now() + timedelta(minutes=6))

    assert {m.booking_id: m.state for m in outbox(db)} == {first["id"]: State.SENT, second["id"]: State.SENT}
    keys = [r["key"] for r in sms_provider.requests]
    assert len(keys) == 3 and len(set(keys)) == 2, "the crashed one was asked again, with the same key"
    assert len(sms_provider.delivered) == 2, "and the provider delivered each message once"


def test_provider_errors_are_retried_or_given_up(
    napp, nclient, login, create_clinic, set_profile, book_one, sms_provider, db
) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(phone="0701234567", sms_consent=True)
    book_one(clinic.hsa_id)

    sms_provider.fail_with = 503
    worker = make_worker(napp, sms=sms_provider, max_attempts=2, retry_base_seconds=1)
    worker.run_once()
    (message,) = outbox(db)
    assert (message.state, message.attempts, message.last_error) == (State.PENDING, 1, "HTTP 503")

    sms_provider.fail_with = 400
    worker.run_once(now=utc_now() + timedelta(seconds=5))
    (message,) = outbox(db)
    assert (message.state, message.attempts, message.last_error) == (State.FAILED, 2, "HTTP 400")
    assert sms_provider.delivered == {}


def test_without_a_provider_nothing_is_reported_sent(
    napp, nclient, login, create_clinic, set_profile, book_one, db
) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(phone="0701234567", sms_consent=True)
    book_one(clinic.hsa_id)

    assert make_worker(napp).run_once() == 0
    (message,) = outbox(db)
    assert (message.state, message.last_error) == (State.PENDING, "no provider configured")


def test_development_provider_writes_each_message_once(tmp_path) -> None:
    sender = FileSmsSender(tmp_path / "sms.jsonl")
    message = Outgoing(message_id="m-1@notifications.hub", to="+46701234567", subject="", text="Hej")
    sender.send(message)
    sender.send(message)
    sender.send(Outgoing(message_id="m-2@notifications.hub", to="+46701234567", subject="", text="Hej igen"))
    lines = [json.loads(line) for line in (tmp_path / "sms.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == ["m-1@notifications.hub", "m-2@notifications.hub"]


def test_outgoing_messages_never_print_address_or_text() -> None:
    message = Outgoing(message_id="m-1", to="+46701234567", subject="Hej", text="Din tid")
    assert "4670" not in repr(message) and "Din tid" not in repr(message)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("070-123 45 67", "+46701234567"),
        ("+46 70 123 45 67", "+46701234567"),
        ("0046701234567", "+46701234567"),
        ("+47 412 34 567", "+4741234567"),
    ],
)
def test_mobile_numbers_are_normalised(napp, raw: str, expected: str) -> None:
    from hub.notifications.contacts import normalise_phone

    with napp.test_request_context():
        assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "08-123 456 78", "not a number", "+46 70 123"])
def test_bad_or_landline_numbers_are_refused(napp, raw: str) -> None:
    from hub.errors import ValidationFailed
    from hub.notifications.contacts import normalise_phone

    with napp.test_request_context(), pytest.raises(ValidationFailed) as refused:
        normalise_phone(raw)
    assert "phone" in refused.value.fields


@pytest.mark.parametrize(
    "raw", ["anna", "anna@", "@example.se", "anna@example", "a b@example.se", "<a@b.se>"]
)
def test_bad_email_addresses_are_refused(napp, raw: str) -> None:
    from hub.errors import ValidationFailed
    from hub.notifications.contacts import normalise_email

    with napp.test_request_context(), pytest.raises(ValidationFailed):
        normalise_email(raw)
