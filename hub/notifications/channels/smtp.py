"""E-mail over SMTP (optionally STARTTLS and login)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from hub.notifications.channels import OutcomeUnknown, Outgoing, PermanentFailure, TemporaryFailure


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    ca_file: str | None = None  # a private CA for an in-house relay; default: the system's CAs

    @classmethod
    def from_config(cls, config: Any) -> SmtpSettings:
        return cls(
            host=config.get("SMTP_HOST", "127.0.0.1"),
            port=int(config.get("SMTP_PORT", 25)),
            sender=config.get("MAIL_FROM", "no-reply@localhost"),
            starttls=bool(config.get("SMTP_STARTTLS", False)),
            username=config.get("SMTP_USERNAME") or None,
            password=config.get("SMTP_PASSWORD") or None,
            timeout=float(config.get("SMTP_TIMEOUT", 30)),
            ca_file=config.get("SMTP_CA_FILE") or None,
        )


def build_email(message: Outgoing, sender: str) -> EmailMessage:
    """Build the MIME message; the Message-ID is the outbox's stable id."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<{message.message_id}>"
    mail.set_content(message.text)
    for attachment in message.attachments:
        maintype, _, rest = attachment.content_type.partition("/")
        subtype, *params = [p.strip() for p in rest.split(";")]
        mail.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=dict(p.split("=", 1) for p in params if "=" in p),
        )
    # After the attachments: turning the mail multipart moves Content-* headers into the text part.
    mail["Content-Language"] = message.language
    return mail


SETUP_CODES = frozenset({530, 534, 535, 538})


class SmtpSender:
    """SMTP has no idempotency: a repeated send is a second e-mail, so the worker never repeats
    a send whose outcome is unknown."""

    idempotent = False

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, message: Outgoing) -> str:
        mail = build_email(message, self.settings.sender)
        try:
            smtp = smtplib.SMTP(self.settings.host, self.settings.port, timeout=self.settings.timeout)
        except (OSError, smtplib.SMTPException) as error:
            raise TemporaryFailure(type(error).__name__) from None
        try:
            with smtp:
                if self.settings.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.settings.ca_file))
                if self.settings.username:
                    smtp.login(self.settings.username, self.settings.password or "")
                return self._hand_over(smtp, mail, message.message_id)
        except (OutcomeUnknown, TemporaryFailure, PermanentFailure):
            raise
        except smtplib.SMTPAuthenticationError:
            raise TemporaryFailure("SMTPAuthenticationError") from None  # a setup fault: keep the mail
        except (OSError, smtplib.SMTPException) as error:
            raise TemporaryFailure(type(error).__name__) from None

    def _hand_over(self, smtp: smtplib.SMTP, mail: EmailMessage, message_id: str) -> str:
        try:
            refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused:
            raise PermanentFailure("SMTPRecipientsRefused") from None
        except smtplib.SMTPResponseException as error:
            # 530/534/535/538 and a refused sender are our set-up (TLS, login, sender address),
            # not this message: keep it for when the relay is set up right.
            setup = error.smtp_code in SETUP_CODES or isinstance(error, smtplib.SMTPSenderRefused)
            if 500 <= error.smtp_code < 600 and not setup:
                raise PermanentFailure(f"SMTP {error.smtp_code}") from None
            raise TemporaryFailure(f"SMTP {error.smtp_code}") from None
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError):
            # The data may have reached the server before the line broke.
            raise OutcomeUnknown("connection lost during the transaction") from None
        if refused:
            raise PermanentFailure("recipient refused")
        return message_id
