"""The outbox worker: claim a due message, send it, mark it; retry with backoff.

Why a database-backed worker and not a task queue (RQ, Celery, Huey, Dramatiq): the outbox row
is written in the booking's own transaction, so a message exists if and only if its booking
change was committed. A queue would need a second hop (outbox → queue) with its own
lost-or-duplicated window, Redis for several instances, and would still need this table for
idempotency, reports and the in-doubt state. The database is already shared by every instance
(SQLite for one, PostgreSQL at scale), so any number of ``hub notifications-worker`` processes can
share the outbox without new infrastructure.

At most once, per channel:

* A message is *claimed* in its own committed transaction (state ``sending``, ``attempts + 1``)
  before any provider is called, so a second worker never takes it (SQLite: ``BEGIN IMMEDIATE``
  serialises claims; PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets workers pass each other).
* The provider always sees the message's stable id (``Message-ID`` header, ``Idempotency-Key``).
* If a worker dies after claiming, the message stays ``sending``. After ``SENDING_LEASE_SECONDS``
  another worker takes it back: on an idempotent channel (the SMS providers) it is sent again with
  the same key and the provider does not deliver it twice; on SMTP, which has no idempotency, it
  becomes ``in_doubt`` and is not sent again unless an operator releases it. A second e-mail is
  worse than a missing one, and the in-doubt rows show in reports.
"""

from __future__ import annotations

import base64
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clinic_adapters.timezones import utc_now
from hub import audit
from hub.db import Database, database, sqlite_write_intent
from hub.notifications import sealing
from hub.notifications.channels import (
    Attachment,
    DeliveryError,
    OutcomeUnknown,
    Outgoing,
    PermanentFailure,
    Sender,
)
from hub.notifications.contacts import contact_of, profile_of
from hub.notifications.models import Channel, OutboxMessage, State
from hub.notifications.outbox import queue_due_reminders

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSettings:
    max_attempts: int = 6
    retry_base_seconds: float = 60.0
    retry_max_seconds: float = 3600.0
    sending_lease_seconds: float = 300.0
    batch_size: int = 50

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WorkerSettings:
        # Values from HUB_* variables arrive as strings.
        return cls(
            max_attempts=int(config.get("NOTIFY_MAX_ATTEMPTS", 6)),
            retry_base_seconds=float(config.get("NOTIFY_RETRY_BASE_SECONDS", 60)),
            retry_max_seconds=float(config.get("NOTIFY_RETRY_MAX_SECONDS", 3600)),
            sending_lease_seconds=float(config.get("NOTIFY_SENDING_LEASE_SECONDS", 300)),
        )


def backoff(attempts: int, settings: WorkerSettings) -> timedelta:
    """Exponential delay with jitter, so failed messages do not all return at the same moment."""
    delay = min(settings.retry_base_seconds * 2 ** max(attempts - 1, 0), settings.retry_max_seconds)
    return timedelta(seconds=delay * random.uniform(0.8, 1.0))  # noqa: S311 - jitter, not secrecy


class Worker:
    """Send due outbox messages through the configured channels."""

    def __init__(
        self,
        app: Flask,
        senders: Mapping[Channel, Sender | None],
        settings: WorkerSettings | None = None,
    ) -> None:
        self.app = app
        self.db: Database = database(app)
        self.senders = senders
        self.settings = settings or WorkerSettings.from_config(app.config)

    # -- the loop -------------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> int:
        """Recover stale claims, queue due reminders, send what is due; return how many were sent."""
        with self.app.app_context():
            self.recover_stale_claims(now)
            with self.db.session_scope() as db:
                queue_due_reminders(db, now)
            sent = 0
            for _ in range(self.settings.batch_size):
                message_id = self.claim(now)
                if message_id is None:
                    break
                sent += self.deliver(message_id)
            return sent

    def run_forever(self, interval: float = 5.0) -> None:
        while True:
            try:
                self.run_once()
            except Exception:  # a database hiccup must not end the worker
                log.exception("notification worker round failed")
            time.sleep(interval)

    # -- steps ----------------------------------------------------------------------------------

    def claim(self, now: datetime | None = None) -> str | None:
        """Take one due message for this worker, committed before anything is sent."""
        now = now or utc_now()
        # Claims write: on SQLite take the write lock at BEGIN so two workers queue, not collide.
        token = sqlite_write_intent.set(True)
        try:
            return self._claim(now)
        finally:
            sqlite_write_intent.reset(token)

    def _claim(self, now: datetime) -> str | None:
        with self.db.session_scope() as db:
            message = db.scalar(
                select(OutboxMessage)
                .where(OutboxMessage.state == State.PENDING, OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if message is None:
                return None
            message.state = State.SENDING
            message.claimed_at = utc_now()
            message.attempts += 1
            return message.id

    def deliver(self, message_id: str) -> int:
        """Send one claimed message and record the outcome; return 1 if it went out."""
        with self.db.session_scope() as db:
            message = db.get(OutboxMessage, message_id)
            assert message is not None
            outgoing = self._outgoing(db, message)
            channel = Channel(message.channel)
            attempts = message.attempts
        if outgoing is None:
            self._finish(message_id, State.SKIPPED, error="no consent or address")
            return 0
        sender = self.senders.get(channel)
        if sender is None:
            # Never report success without a provider: the message waits for one to be set up.
            self._retry_or_fail(message_id, attempts, "no provider configured")
            return 0
        try:
            reference = sender.send(outgoing)
        except OutcomeUnknown as error:
            if sender.idempotent:
                self._retry_or_fail(message_id, attempts, str(error))
            else:
                self._finish(message_id, State.IN_DOUBT, error=str(error))
            return 0
        except PermanentFailure as error:
            self._finish(message_id, State.FAILED, error=str(error))
            return 0
        except DeliveryError as error:
            self._retry_or_fail(message_id, attempts, str(error))
            return 0
        self._finish(message_id, State.SENT, reference=reference)
        log.info("sent %s message %s", channel, message_id)
        return 1

    def recover_stale_claims(self, now: datetime | None = None) -> None:
        """Deal with messages whose worker died while sending (see the module docstring)."""
        now = now or utc_now()
        stale = now - timedelta(seconds=self.settings.sending_lease_seconds)
        idempotent = [c.value for c in Channel if (s := self.senders.get(c)) is not None and s.idempotent]
        with self.db.session_scope() as db:
            resend = db.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.state == State.SENDING,
                    OutboxMessage.claimed_at <= stale,
                    OutboxMessage.channel.in_(idempotent),
                )
                .values(state=State.PENDING, next_attempt_at=now, last_error="worker lost during send")
            )
            doubtful = db.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.state == State.SENDING,
                    OutboxMessage.claimed_at <= stale,
                    OutboxMessage.channel.not_in(idempotent),
                )
                .values(state=State.IN_DOUBT, last_error="worker lost during send")
            )
            if resend.rowcount or doubtful.rowcount:
                log.warning(
                    "recovered stale claims: %d to resend with their key, %d in doubt",
                    resend.rowcount,
                    doubtful.rowcount,
                )

    # -- helpers --------------------------------------------------------------------------------

    def _outgoing(self, db: Session, message: OutboxMessage) -> Outgoing | None:
        """Build what the channel sends, re-checking consent and the address as of now."""
        channel = Channel(message.channel)
        profile = profile_of(db, message.citizen_id)
        if profile is None or not profile.reachable(channel):
            return None
        address = contact_of(profile).address(channel)
        if not address:
            return None
        content = sealing.unseal(message.sealed_content)
        attachments: tuple[Attachment, ...] = ()
        if content.get("ics"):
            attachments = (
                Attachment(
                    filename="appointment.ics",
                    content_type=f"text/calendar; method={content.get('ics_method', 'REQUEST')}",
                    data=base64.b64decode(content["ics"]),
                ),
            )
        return Outgoing(
            message_id=message.message_id,
            to=address,
            subject=content.get("subject", ""),
            text=content["text"],
            language=content.get("language", "sv"),
            attachments=attachments,
        )

    def _finish(
        self, message_id: str, state: State, *, reference: str | None = None, error: str | None = None
    ) -> None:
        with self.db.session_scope() as db:
            message = db.get(OutboxMessage, message_id)
            assert message is not None
            message.state = state
            message.sent_at = utc_now() if state == State.SENT else None
            message.provider_ref = reference
            message.last_error = error[:200] if error else None
            if state != State.IN_DOUBT:
                # Keep no copy of what was said once it cannot be sent again (in-doubt mail may be
                # released by an operator, so it keeps its content).
                message.sealed_content = ""
            if state == State.SENT:
                # The system read the citizen's sealed address to send this: that goes on record.
                audit.record(
                    db,
                    actor_kind="system",
                    actor_id="notifications-worker",
                    action="notifications.sent",
                    clinic_id=message.clinic_id,
                    citizen_id=message.citizen_id,
                    booking_id=message.booking_id,
                    message=message.id,
                    kind=message.kind,
                    channel=message.channel,
                )

    def _retry_or_fail(self, message_id: str, attempts: int, error: str) -> None:
        if attempts >= self.settings.max_attempts:
            self._finish(message_id, State.FAILED, error=error)
            log.warning("message %s failed for good after %d attempts", message_id, attempts)
            return
        with self.db.session_scope() as db:
            db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(
                    state=State.PENDING,
                    next_attempt_at=utc_now() + backoff(attempts, self.settings),
                    last_error=error[:200],
                )
            )


def release_in_doubt(db: Session, message_id: str) -> bool:
    """Let an operator who checked the mail log send an in-doubt message once more."""
    result = db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.state == State.IN_DOUBT)
        .values(state=State.PENDING, next_attempt_at=utc_now())
    )
    return bool(result.rowcount)
