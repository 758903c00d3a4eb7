"""A bounded load generator: a fixed number of concurrent clients, a fixed list of requests, a
deadline. Each client sends its next request as soon as its previous answer arrived (closed loop),
so the server sees exactly ``concurrency`` requests in flight."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp


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
        result.latencies.append(time.perf_counter() - started)
        result.statuses[status] += 1
        if status == 201:
            result.created_ids.append(str(json.loads(payload)["id"]))
            result.created_per_target[attempt.target] += 1


async def _run(
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


def run_phase(
    name: str, url: str, attempts: list[Attempt], concurrency: int, max_seconds: float
) -> PhaseResult:
    """Send ``attempts`` through ``concurrency`` clients; stop early at ``max_seconds``."""
    cpu_before = time.process_time()
    result = asyncio.run(_run(name, url, attempts, concurrency, max_seconds))
    result.client_cpu = time.process_time() - cpu_before
    return result
