"""The one place where the FHIR adapter talks HTTP: OAuth2 tokens, timeouts, paging, error mapping.

Authlib fetches the tokens (client credentials, over httpx); the FHIR requests themselves go
through urllib3's pool with the bearer header, since httpx and Authlib's per-request work was
most of the adapter's CPU per call, and a federated search makes a hundred calls under one GIL.

Every fault of the wire becomes a typed adapter error here and nowhere else: time-outs, refused or
dropped connections, 5xx (whatever the body: HTML pages included), 429 and auth failures all end
as :class:`~clinic_adapters.errors.Unavailable`. Writes are never retried here (a resilience
wrapper above decides that); only a 401 (the request was not processed) and, for reads, one 429
with a short ``Retry-After`` are sent again.
"""

from __future__ import annotations

import json as jsonlib
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import authlib.deprecate  # noqa: F401 - imported first so the filter below outranks its own
import urllib3

from clinic_adapters.errors import InvalidResponse, Unavailable
from clinic_adapters.pooled_http import connection_pool
from clinic_adapters.timezones import utc_now

with warnings.catch_warnings():
    # Authlib 1.9 warns once on import when it falls back from httpx2 to httpx (which this project
    # uses): "The httpx module is deprecated; please use httpx2 instead." Nothing to act on here.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated", category=DeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.integrations.httpx_client import oauth2_client as _authlib_httpx

# The httpx module Authlib's client is built on (httpx today, httpx2 once installed): its
# exception classes are the ones our requests raise.
http = _authlib_httpx.httpx2

log = logging.getLogger(__name__)

MAX_PAGES = 500  # a server whose next links never end is broken; stop rather than loop forever
DEFAULT_MAX_LEEWAY = 30
#: Characters a query carries unencoded besides letters, digits and "_.-~" (see FhirTransport.request).
QUERY_SAFE = ":/"
Params = list[tuple[str, str]]


class SearchRejected(InvalidResponse):
    """A search the server refused (400), e.g. for a parameter a strict server does not support."""


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: what the adapter reads of it."""

    status_code: int
    headers: Any  # urllib3's HTTPHeaderDict: names compare case-insensitively
    content: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not JSON."""
        return jsonlib.loads(self.content)


@dataclass(frozen=True)
class Page:
    """One page of a search: its matches, and the ``self`` link (the parameters the server used)."""

    matches: list[dict[str, Any]]
    self_url: str | None


class FhirTransport:
    """An OAuth2 (client credentials) HTTP client bound to one FHIR base URL.

    Thread-safe: the hub may call one adapter from several threads at once.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None,
        connect_timeout: float,
        read_timeout: float,
        max_token_leeway: int = DEFAULT_MAX_LEEWAY,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.read_timeout = read_timeout
        self._origin = urlsplit(self.base_url)[:2]
        self._max_leeway = max_token_leeway
        self._clock = clock
        self._token_lock = threading.Lock()
        self._client = OAuth2Client(  # the token endpoint's client
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            token_endpoint=token_url,
            grant_type="client_credentials",
            # Write gets the read budget: a booking body is small, the server's answer is the wait.
            timeout=http.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout,
                                 pool=connect_timeout),
            leeway=0,  # set from each token's lifetime in _fetch_token
        )
        # The FHIR requests' client. urllib3's read time-out bounds every socket operation after
        # connecting, sends included. No retries, no redirects: writes are never sent twice here.
        self._pool = connection_pool()
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.last_success: datetime | None = None
        self.last_error: datetime | None = None
        self.last_error_text: str | None = None

    def close(self) -> None:
        self._pool.clear()
        self._client.close()

    # -- tokens ---------------------------------------------------------------------------------

    def _fetch_token(self) -> None:
        """Fetch a new token and set the leeway below its lifetime (else every call refetches)."""
        token = self._client.fetch_token()
        if not isinstance(token.get("access_token"), str):
            raise ValueError("token response without an access token")
        lifetime = int(token.get("expires_in") or 0)
        self._client.leeway = max(0, min(self._max_leeway, lifetime // 4))

    def _ensure_token(self) -> Any:
        """Return a token that is valid for at least the leeway, fetching one if needed."""
        with self._token_lock:
            token = self._client.token
            if not token or token.is_expired(leeway=self._client.leeway):
                self._fetch_token()
            return self._client.token

    def _renew_token(self, rejected: Any) -> None:
        """Fetch once after a 401, unless another thread already replaced the rejected token."""
        with self._token_lock:
            if self._client.token is rejected:
                self._fetch_token()

    # -- requests -------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return path if "://" in path else f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        data: dict[str, list[str]] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send one request and return the response; wire faults raise ``Unavailable``.

        ``path`` is relative to the base URL or an absolute URL on the same origin (next links).
        Status codes below 500 other than 401/429 are returned for the caller to interpret.
        """
        url = self.url(path)
        # Resource path only: queries may carry identifiers and must not reach the log.
        what = f"{method} {urlsplit(url).path.removeprefix(urlsplit(self.base_url).path) or '(next page)'}"
        if urlsplit(url)[:2] != self._origin:
            # Never send our bearer token to a host a response merely named.
            raise self._fail(InvalidResponse(f"{what}: link leaves the server's origin"))
        is_read = method in ("GET", "HEAD") or path.endswith("/_search")
        if params:
            # ":" and "/" as they are (RFC 3986 allows both in a query): a query without "%"
            # takes urllib3's fast path, where each "%" sent it byte by byte through Python,
            # four times per request and a fifth of a first-free call's CPU.
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params, safe=QUERY_SAFE)}"
        body, content_type = None, None
        if data is not None:
            body, content_type = urlencode(data, doseq=True).encode(), "application/x-www-form-urlencoded"
        elif json is not None:
            body, content_type = jsonlib.dumps(json).encode(), "application/json"
        sent = {"Accept": "application/fhir+json", **({"Content-Type": content_type} if content_type else {}),
                **(headers or {})}
        try:
            token = self._ensure_token()
            response = self._send(method, url, body, sent, token)
            if response.status_code == 401:
                # Our clock said the token was good: the server dropped it (restart, key rotation).
                log.info("FHIR %s: 401, fetching a new token once", what)
                self._renew_token(token)
                response = self._send(method, url, body, sent, self._ensure_token())
            if response.status_code == 429 and is_read:
                delay = self._retry_after(response)
                if delay is not None:
                    time.sleep(delay)
                    response = self._send(method, url, body, sent, self._ensure_token())
        # urllib3's NewConnectionError is also a ConnectTimeoutError: a refusal is not a time-out.
        except urllib3.exceptions.NewConnectionError as error:
            raise self._fail(Unavailable(f"{what}: connection failed ({type(error).__name__})")) from error
        except (http.TimeoutException, urllib3.exceptions.TimeoutError) as error:
            raise self._fail(Unavailable(f"{what}: timed out ({type(error).__name__})")) from error
        except (http.TransportError, urllib3.exceptions.HTTPError) as error:
            raise self._fail(Unavailable(f"{what}: connection failed ({type(error).__name__})")) from error
        except http.HTTPStatusError as error:  # raised by Authlib for a token endpoint's 5xx
            status = error.response.status_code
            raise self._fail(Unavailable(f"{what}: token endpoint HTTP {status}")) from error
        except OAuthError as error:
            raise self._fail(Unavailable(f"{what}: token endpoint refused ({error.error})")) from error
        except ValueError as error:  # a token endpoint answering HTML or garbage
            raise self._fail(Unavailable(f"{what}: unreadable token response")) from error
        status = response.status_code
        if status >= 500 or status in (401, 403, 429):
            raise self._fail(Unavailable(f"{what}: HTTP {status}"))
        self.last_success = self._clock()
        return response

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str], token: Any) -> Reply:
        headers = {**headers, "Authorization": f"Bearer {token['access_token']}"}
        answer = self._pool.request(method, url, body=body, headers=headers, timeout=self._timeout,
                                    retries=False, redirect=False)
        return Reply(answer.status, answer.headers, answer.data)

    def _retry_after(self, response: Any) -> float | None:
        """Return how long to wait before the one retry of a read, or None if it would not fit."""
        value = response.headers.get("Retry-After", "").strip()
        try:
            delay = float(value)
        except ValueError:
            try:
                delay = (parsedate_to_datetime(value) - self._clock()).total_seconds()
            except (TypeError, ValueError):
                return None
        return max(0.0, delay) if delay <= self.read_timeout else None

    def _fail(self, error: Unavailable) -> Unavailable:
        self.last_error = self._clock()
        self.last_error_text = str(error)
        log.warning("FHIR record system unavailable: %s", error)
        return error

    # -- FHIR helpers ---------------------------------------------------------------------------

    @staticmethod
    def json(response: Any, what: str) -> dict[str, Any]:
        """Return a response's JSON object; anything else is an invalid answer."""
        try:
            body = response.json()
        except ValueError as error:
            raise InvalidResponse(f"{what}: HTTP {response.status_code} without a JSON body") from error
        if not isinstance(body, dict):
            raise InvalidResponse(f"{what}: JSON body is not an object")
        return body

    def read(self, kind: str, rid: str) -> tuple[dict[str, Any] | None, str | None]:
        """Return a resource and its ETag as received, or (None, None) when it does not exist."""
        response = self.request("GET", f"{kind}/{rid}")
        if response.status_code in (404, 410):
            return None, None
        if response.status_code != 200:
            raise InvalidResponse(f"GET {kind}: unexpected HTTP {response.status_code}")
        body = self.json(response, f"GET {kind}")
        if body.get("resourceType") != kind:
            raise InvalidResponse(f"GET {kind}: got {body.get('resourceType')!r}")
        return body, response.headers.get("ETag")

    def search(self, kind: str, params: Iterable[tuple[str, str]], *, post: bool = False) -> list[dict]:
        """Return every matching resource of ``kind``, following ``next`` links to the last page.

        ``post`` sends the parameters as a form body (``_search``) so identifiers such as personal
        numbers stay out of URLs, which proxies, access logs and urllib3's DEBUG log record.
        """
        return [resource for page in self.pages(kind, params, post=post) for resource in page.matches]

    def pages(self, kind: str, params: Iterable[tuple[str, str]], *, post: bool = False) -> Iterator[Page]:
        """Yield a search's pages one by one: a caller that has enough stops asking for more."""
        params = list(params)
        if post:
            form: dict[str, list[str]] = {}
            for name, value in params:
                form.setdefault(name, []).append(value)
            response = self.request("POST", f"{kind}/_search", data=form)
        else:
            response = self.request("GET", kind, params=params)
        for number in range(MAX_PAGES):
            if response.status_code == 400 and number == 0:
                raise SearchRejected(f"search {kind}: HTTP 400")
            if response.status_code != 200:
                raise InvalidResponse(f"search {kind}: HTTP {response.status_code}")
            bundle = self.json(response, f"search {kind}")
            if bundle.get("resourceType") != "Bundle":
                raise InvalidResponse(f"search {kind}: not a Bundle")
            found = []
            for entry in bundle.get("entry") or []:
                resource = entry.get("resource") or {}
                # _include'd or OperationOutcome entries are not matches.
                if resource.get("resourceType") == kind and entry.get("search", {}).get("mode") != "include":
                    found.append(resource)
            links = {link.get("relation"): link.get("url") for link in bundle.get("link") or []}
            yield Page(found, links.get("self"))
            if not links.get("next"):
                return
            response = self.request("GET", links["next"])
        raise InvalidResponse(f"search {kind}: more than {MAX_PAGES} pages")
