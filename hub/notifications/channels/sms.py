"""SMS providers: an HTTP provider adapter and a development provider writing to a local file."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import Any

import httpx

from hub.notifications.channels import Outgoing, PermanentFailure, TemporaryFailure


class HttpSmsSender:
    """POST ``{"to", "text", "sender"}`` as JSON with an ``Idempotency-Key`` header.

    The provider answers a repeated key with the first answer instead of sending again, so the
    worker may retry a send whose outcome it does not know.
    """

    idempotent = True

    def __init__(
        self,
        url: str,
        token: str | None = None,
        sender: str = "Region",
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url
        self.sender = sender
        self.client = httpx.Client(timeout=timeout, headers=headers, transport=transport)

    def send(self, message: Outgoing) -> str:
        try:
            response = self.client.post(
                self.url,
                json={"to": message.to, "text": message.text, "sender": self.sender},
                headers={"Idempotency-Key": message.message_id},
            )
        except httpx.HTTPError as error:
            raise TemporaryFailure(type(error).__name__) from None
        if response.status_code in {408, 409, 425, 429} or response.status_code >= 500:
            raise TemporaryFailure(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PermanentFailure(f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = {}
        return str(body.get("id") or message.message_id) if isinstance(body, dict) else message.message_id

    def close(self) -> None:
        self.client.close()


class FileSmsSender:
    """Append each SMS as a JSON line to a local file (development); a repeated id is not written
    again, like a real provider honouring the idempotency key."""

    idempotent = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, message: Outgoing) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # two workers must not both miss each other's line
            handle.seek(0)
            if any(json.loads(line).get("id") == message.message_id for line in handle if line.strip()):
                return message.message_id
            handle.write(
                json.dumps({"id": message.message_id, "to": message.to, "text": message.text}) + "\n"
            )
        return message.message_id


def sms_sender(config: Any, instance_path: str) -> HttpSmsSender | FileSmsSender | None:
    """Return the configured SMS provider (``SMS_PROVIDER``: ``file``, ``http`` or ``none``)."""
    kind = config.get("SMS_PROVIDER", "file")
    if kind == "http":
        if not config.get("SMS_HTTP_URL"):
            raise PermanentFailure("SMS_HTTP_URL is not set")
        return HttpSmsSender(
            config["SMS_HTTP_URL"],
            token=config.get("SMS_HTTP_TOKEN") or None,
            sender=config.get("SMS_SENDER", "Region"),
            timeout=float(config.get("SMS_HTTP_TIMEOUT", 10)),
        )
    if kind == "file":
        return FileSmsSender(config.get("SMS_OUTBOX_FILE") or Path(instance_path) / "sms-outbox.jsonl")
    return None
