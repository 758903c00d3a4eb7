"""Helpers shared by the notification tests (a module of its own: ``conftest`` is not importable)."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class MailBox:
    messages: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)

    hold: threading.Event | None = None  # keep the "250" back until set (see SmsProvider)
    received: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.content)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        self.received.set()
        while self.hold is not None and not self.hold.is_set():
            await asyncio.sleep(0.02)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    box: MailBox


@dataclass
class SmsProvider:
    """Records every request; delivers each Idempotency-Key once and repeats its first answer."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_with: int | None = None
    # Set ``hold`` to keep the next delivery's answer back until it is set again; ``received``
    # tells the test that the provider has taken (and delivered) that message.
    hold: threading.Event | None = None
    received: threading.Event = field(default_factory=threading.Event)


def outbox(db: Session) -> list[Any]:
    from hub.notifications.models import OutboxMessage

    db.rollback()  # a new transaction: SQLite would otherwise keep showing an old snapshot
    return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)))


def make_worker(
    napp: Flask, *, smtp: SmtpServer | None = None, sms: SmsProvider | None = None, **settings: Any
):
    from hub.notifications.channels.sms import HttpSmsSender
    from hub.notifications.channels.smtp import SmtpSender, SmtpSettings
    from hub.notifications.models import Channel
    from hub.notifications.worker import Worker, WorkerSettings

    senders: dict[Any, Any] = {Channel.EMAIL: None, Channel.SMS: None}
    if smtp is not None:
        senders[Channel.EMAIL] = SmtpSender(
            SmtpSettings(host=smtp.host, port=smtp.port, sender="bokning@region.example", timeout=5)
        )
    if sms is not None:
        senders[Channel.SMS] = HttpSmsSender(sms.url, token="test-token", timeout=5)
    return Worker(napp, senders, WorkerSettings(**settings))


def readable(mail: EmailMessage) -> str:
    """Every header and every decoded part of a mail, as a citizen's mail program would show it."""
    texts = [f"{name}: {value}" for name, value in mail.items()]
    for part in mail.walk():
        if part.is_multipart():
            continue
        texts += [f"{name}: {value}" for name, value in part.items()]
        texts.append(part.get_payload(decode=True).decode("utf-8"))
    return "\n".join(texts)
