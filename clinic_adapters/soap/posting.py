"""zeep's transport with the calls themselves posted through urllib3's pool directly.

requests wraps each post in work a SOAP call does not use (settings merged from the session,
cookies, hooks, redirects, a Response built field by field): about a third of the client's CPU
per call. A federated search makes a hundred such calls under one interpreter lock, so that is
time every clinic's answer waits for. The WSDL and schemas still load through requests (zeep's
``load``), once per hour at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from typing import Any

import urllib3
from zeep.transports import Transport


@dataclass(frozen=True)
class Reply:
    """What zeep reads of an HTTP answer (requests' names)."""

    status_code: int
    content: bytes
    headers: Any  # urllib3's HTTPHeaderDict: names compare case-insensitively, as requests' do

    @property
    def encoding(self) -> str | None:
        """The charset the Content-Type names, if any (zeep falls back to UTF-8)."""
        content_type = self.headers.get("Content-Type")
        if not content_type:
            return None
        message = Message()
        message["Content-Type"] = content_type
        return message.get_content_charset()


class PooledTransport(Transport):
    """Posts operation calls through ``pool``; everything else is zeep's own transport.

    No retries and no redirects: a call that may have booked a time must not be sent twice
    behind the caller's back, and a producer's address does not move mid-call. Failures raise
    urllib3's exceptions, which :func:`clinic_adapters.soap.transport._technical_error` maps.
    """

    def __init__(self, pool: urllib3.PoolManager, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool = pool
        self._user_agent = self.session.headers["User-Agent"]
        connect, read = self.operation_timeout
        self._timeout = urllib3.Timeout(connect=connect, read=read)

    def post(self, address: str, message: bytes | str, headers: dict[str, str]) -> Reply:
        body = message.encode("utf-8") if isinstance(message, str) else message
        answer = self.pool.request(
            "POST",
            address,
            body=body,
            headers={"User-Agent": self._user_agent, "Accept-Encoding": "gzip, deflate", **headers},
            timeout=self._timeout,
            retries=False,
            redirect=False,
        )
        return Reply(answer.status, answer.data, answer.headers)
