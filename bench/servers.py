"""Start and stop gunicorn on loopback, and read what its processes cost (CPU, memory)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def export(commit: str, code: Path) -> Path:
    """A clean export of ``commit`` in ``code``, with the work tree's compiled catalogues."""
    shutil.rmtree(code, ignore_errors=True)
    code.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], cwd=REPO_DIR, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive.stdout, check=True)
    for catalogue in REPO_DIR.glob("locales/*/LC_MESSAGES/*.mo"):  # compiled, so not committed
        target = code / catalogue.relative_to(REPO_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(catalogue, target)
    return code


@dataclass(frozen=True, slots=True)
class GunicornSettings:
    """One set of settings shared by the hub and the baseline, so they are compared fairly."""

    # One process per core, one thread each: with the connections spread over both workers (below),
    # every thread more per worker cost the hub CPU per attempt (GIL handoffs, and more attempts
    # racing for the same time at once): 2 x 1 answered about 1,020 attempts/s, 2 x 2 about 920,
    # 2 x 4 and 2 x 8 about 770; 3 x 1 tied with 2 x 1, 4 x 1 was slower when alternated. gthread,
    # not sync: sync workers close every connection (no keep-alive). See bench/README.md.
    worker_class: str = "gthread"
    workers: int = 2
    threads: int = 1
    # Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new
    # connections over them. On one shared socket, whichever worker was idle when the client
    # opened its kept-alive connections took them all: the other worker served none for the
    # whole phase, and with one GIL per process the server used one core (see bench/README.md).
    reuse_port: bool = True

    def describe(self) -> str:
        listen = ", a listening socket per worker" if self.reuse_port else ", one shared listening socket"
        if self.worker_class == "gthread":
            return f"gthread, {self.workers} workers x {self.threads} threads{listen}"
        return f"{self.worker_class}, {self.workers} workers{listen}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Gunicorn:
    """A gunicorn master on 127.0.0.1 serving ``app_spec``; stop() ends it and its workers."""

    name: str
    app_spec: str
    settings: GunicornSettings
    env: dict[str, str]
    log_dir: Path
    chdir: Path = REPO_DIR
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str, timeout: float = 30.0) -> None:
        s = self.settings
        command = [
            GUNICORN,
            "--bind", f"127.0.0.1:{self.port}",
            "--worker-class", s.worker_class,
            "--workers", str(s.workers),
            "--threads", str(s.threads),
            "--chdir", str(self.chdir),
            "--backlog", "2048",
            "--keep-alive", "30",  # the client keeps its 32 connections open for the whole run
            "--log-level", "warning",
            "--error-logfile", str(self.log_dir / f"{self.name}-gunicorn.log"),
            *(["--reuse-port"] if s.reuse_port else []),
            self.app_spec,
        ]  # fmt: skip
        # Own process group, so stop() can end master and workers without touching anything else.
        # Output goes to a file: the hub logs a warning per refused booking (see bench/README.md).
        with open(self.log_dir / f"{self.name}-output.log", "ab") as output:
            self.process = subprocess.Popen(
                command,
                env={**os.environ, **self.env},
                cwd=self.chdir,
                start_new_session=True,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name}: gunicorn exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=2) as response:
                    if response.status == 200 and len(self.worker_pids()) == s.workers:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name}: not ready after {timeout:.0f} s")

    def main_pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        try:
            return [c.pid for c in psutil.Process(self.process.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its live workers so far."""
        if self.process is None:
            return 0.0
        return sum(_cpu(pid) for pid in [self.process.pid, *self.worker_pids()])

    def worker_rss(self) -> dict[int, int]:
        found = {}
        for pid in self.worker_pids():
            try:
                found[pid] = psutil.Process(pid).memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return found

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # gunicorn's graceful stop
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def _cpu(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


def postgres_cpu_seconds(database: str) -> float:
    """CPU of the PostgreSQL backends serving ``database`` (their process title names it).

    Approximate: a backend that exits during a phase (a pool overflow connection) takes its CPU
    time with it, so this can undercount, never count others' work.
    """
    total = 0.0
    for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        title = " ".join(proc.info["cmdline"] or ())
        if proc.info["name"] == "postgres" and f" {database} " in title and proc.info["cpu_times"]:
            total += proc.info["cpu_times"].user + proc.info["cpu_times"].system
    return total


def cpu_probe_seconds() -> float:
    """CPU seconds this machine takes for a fixed piece of Python (``sum(range(20_000_000))``).

    The machines here change speed by up to 2x within minutes; a run that prints this before and
    after tells which spell it ran in (0.26 s in a fast one, 0.4-0.6 s in a slow one)."""
    started = time.process_time()
    sum(range(20_000_000))
    return time.process_time() - started


def machine_busy_seconds() -> float:
    """CPU seconds used by anything on the machine (all cores), to see whether it was saturated."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@contextmanager
def py_spy(pid: int, out: Path) -> Iterator[None]:
    """Sample the process ``pid`` and its children while the block runs, into ``out`` (py-spy's
    raw format, for ``profile_top.py``): on-CPU Python stacks only."""
    spy = str(Path(sys.executable).with_name("py-spy"))
    proc = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
            "--gil",  # only threads holding the GIL: where the CPU goes, not the waits
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # let it attach before the load starts
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # makes py-spy write its output
        proc.wait(timeout=60)
