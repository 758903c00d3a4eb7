"""A bounded load generator: a fixed number of concurrent clients, a fixed list of requests, a
deadline. Each client sends its next request as soon as its previous answer arrived (closed loop),
so the server sees exactly ``concurrency`` requests in flight.

Two clients do the same: ``lean`` (the default) writes each prepared request on a kept-alive
connection and reads the answer with httptools' parser (llhttp, the parser of uvicorn and
Node.js), on uvloop; ``aiohttp`` goes through aiohttp's client. The load generator shares the
measured machine's two cores with the servers, so what it spends per attempt is taken from them:
aiohttp's client costs 0.3-0.6 ms of CPU per attempt on this machine, the lean one about a third
of that (bench/README.md)."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
import httptools
import uvloop

CLIENTS = ("lean", "aiohttp")
ANSWER_TIMEOUT = 30.0  # seconds for one answer, as aiohttp's total timeout below


@dataclass(frozen=True, slots=True)
class Attempt:
    """One prepared request: the body and headers are built before the clock starts."""

    body: bytes
    headers: dict[str, str]
    target: str  # slot (hub) or seat (baseline) the attempt goes for


@dataclass
class PhaseResult:
    name: str
    planned: int
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)  # 0 = no HTTP answer (connection error)
    latencies: list[float] = field(default_factory=list)  # seconds, answered attempts only
    created_ids: list[str] = field(default_factory=list)  # ids of 201 answers
    created_per_target: Counter[str] = field(default_factory=Counter)
    stopped_by_deadline: bool = False
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    postgres_cpu: float = 0.0
    machine_cpu: float = 0.0

    def answered_with(self, attempt: Attempt, status: int, payload: bytes, seconds: float) -> None:
        """Note one HTTP answer: its latency, its status and, for a booking, the id it names."""
        self.latencies.append(seconds)
        self.statuses[status] += 1
        if status == 201:
            self.created_ids.append(str(json.loads(payload)["id"]))
            self.created_per_target[attempt.target] += 1

    @property
    def answered(self) -> int:
        """Attempts answered cleanly: booked (201) or refused as taken (409)."""
        return self.statuses[201] + self.statuses[409]

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status not in (201, 409))

    @property
    def attempts_per_second(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    @property
    def successes_per_second(self) -> float:
        return self.statuses[201] / self.seconds if self.seconds else 0.0

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile of the answered attempts' latencies, in milliseconds."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1] * 1000

    def per_attempt_ms(self, cpu_seconds: float) -> float:
        sent = sum(self.statuses.values())
        return cpu_seconds / sent * 1000 if sent else math.nan


async def _client(
    http: aiohttp.ClientSession,
    url: str,
    queue: list[Attempt],
    deadline: float,
    result: PhaseResult,
) -> None:
    while queue:
        if time.perf_counter() > deadline:
            result.stopped_by_deadline = True
            return
        attempt = queue.pop()
        started = time.perf_counter()
        try:
            async with http.post(url, data=attempt.body, headers=attempt.headers) as response:
                payload = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            result.statuses[0] += 1
            continue
        result.answered_with(attempt, status, payload, time.perf_counter() - started)


async def _run_aiohttp(
    name: str, url: str, attempts: list[Attempt], concurrency: int, max_seconds: float
) -> PhaseResult:
    result = PhaseResult(name=name, planned=len(attempts))
    queue = list(reversed(attempts))  # pop() from the end keeps the planned order
    # No cookie jar: every attempt carries its own citizen's session cookie in its headers.
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as http:
        started = time.perf_counter()
        deadline = started + max_seconds
        await asyncio.gather(*(_client(http, url, queue, deadline, result) for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result


class _Connection(asyncio.Protocol):
    """One kept-alive HTTP/1.1 connection: write a request, wait for its whole answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None
        self.usable = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionResetError("the server closed the connection"))

    # httptools' callbacks
    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.usable = self.parser.should_keep_alive()
        answer, body = self.answer, b"".join(self.body)
        self.body.clear()
        if answer is not None and not answer.done():
            answer.set_result((self.parser.get_status_code(), body))

    def _fail(self, exc: Exception) -> None:
        self.usable = False
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        async with asyncio.timeout(ANSWER_TIMEOUT):
            return await self.answer

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _prepared_request(url: str, attempt: Attempt) -> bytes:
    """The whole POST as bytes, built before the clock starts."""
    parts = urlsplit(url)
    head = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(attempt.body)}"]
    head += [f"{name}: {value}" for name, value in attempt.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + attempt.body


async def _lean_client(
    host: str,
    port: int,
    queue: list[tuple[Attempt, bytes]],
    deadline: float,
    result: PhaseResult,
) -> None:
    loop = asyncio.get_running_loop()
    connection: _Connection | None = None
    try:
        while queue:
            if time.perf_counter() > deadline:
                result.stopped_by_deadline = True
                return
            attempt, request = queue.pop()
            started = time.perf_counter()
            try:
                if connection is None or not connection.usable:
                    if connection is not None:
                        connection.close()
                    _, connection = await loop.create_connection(_Connection, host, port)
                status, payload = await connection.exchange(request)
            except (OSError, TimeoutError, httptools.HttpParserError):
                result.statuses[0] += 1
                if connection is not None:
                    connection.close()  # a late answer must not be read as the next one's
                connection = None
                continue
            result.answered_with(attempt, status, payload, time.perf_counter() - started)
    finally:
        if connection is not None:
            connection.close()


async def _run_lean(
    name: str, url: str, attempts: list[Attempt], concurrency: int, max_seconds: float
) -> PhaseResult:
    result = PhaseResult(name=name, planned=len(attempts))
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    queue = [(a, _prepared_request(url, a)) for a in reversed(attempts)]  # pop() keeps the order
    started = time.perf_counter()
    deadline = started + max_seconds
    await asyncio.gather(*(_lean_client(host, port, queue, deadline, result) for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def run_phase(
    name: str,
    url: str,
    attempts: list[Attempt],
    concurrency: int,
    max_seconds: float,
    client: str = "lean",
) -> PhaseResult:
    """Send ``attempts`` through ``concurrency`` clients; stop early at ``max_seconds``."""
    cpu_before = time.process_time()
    if client == "lean":
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(_run_lean(name, url, attempts, concurrency, max_seconds))
    elif client == "aiohttp":
        result = asyncio.run(_run_aiohttp(name, url, attempts, concurrency, max_seconds))
    else:
        raise ValueError(f"unknown client {client!r}; one of {CLIENTS}")
    result.client_cpu = time.process_time() - cpu_before
    return result
