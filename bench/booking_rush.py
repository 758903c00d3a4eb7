"""Booking rush: many citizens book the same few times at once, through the hub's real HTTP path.

    .venv/bin/python bench/booking_rush.py --citizens 5000 --slots 500 --clients 32 --rounds 3

Creates its own database, serves the hub and a bare baseline with the same gunicorn settings on
127.0.0.1, runs them alternately on fresh slots, checks every answer against the database and
stops everything it started. ``--lean`` adds a prototype of the proposed fixes as a third
contender. ``--soak-minutes 10`` instead runs the hub alone for that long and watches the
workers' memory. See bench/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psutil
from loadgen import CLIENTS, Attempt, PhaseResult, run_phase
from servers import (
    BENCH_DIR,
    REPO_DIR,
    Gunicorn,
    GunicornSettings,
    cpu_probe_seconds,
    export,
    machine_busy_seconds,
    postgres_cpu_seconds,
    py_spy,
)

MiB = 1024 * 1024


HUBS = ("hub", "versus")  # contenders that are the hub, logged in as --login says


@dataclass(frozen=True)
class Contender:
    name: str  # "hub", "baseline", "versus" (the hub of --versus) or "lean" (the prototype)
    server: Gunicorn
    books_slots: bool  # True: books hub slots at /api/v1/bookings; False: the baseline's seats

    @property
    def url(self) -> str:
        return self.server.url + ("/api/v1/bookings" if self.books_slots else "/book")

    @property
    def ready_path(self) -> str:
        return "/api/v1/clinics" if self.name in HUBS else "/ready"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--citizens", type=int, default=5000, help="attempts per round (one per citizen)")
    p.add_argument("--slots", type=int, default=500, help="fresh slots per round")
    p.add_argument("--capacity", type=int, default=1, help="seats per slot")
    p.add_argument("--clients", type=int, default=32, help="concurrent clients (requests in flight)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of all contenders, rotating who goes first")
    p.add_argument(
        "--order",
        choices=("slot", "shuffled"),
        default="slot",
        help="slot: a slot's attempts arrive together (the rush); shuffled: spread out",
    )
    p.add_argument(
        "--client",
        choices=CLIENTS,
        default="lean",
        help="load generator: lean (httptools on uvloop) or aiohttp's client (bench/loadgen.py)",
    )
    p.add_argument("--worker-class", default="gthread")
    p.add_argument("--workers", type=int, default=GunicornSettings().workers)
    p.add_argument("--threads", type=int, default=GunicornSettings().threads)
    p.add_argument(
        "--shared-socket",
        action="store_true",
        help="workers accept from one listening socket, as before the tenth session (no SO_REUSEPORT)",
    )
    p.add_argument("--max-phase-seconds", type=float, default=60.0, help="a phase stops sending after this")
    p.add_argument("--warmup", type=int, default=1000, help="attempts per server before measuring")
    p.add_argument(
        "--soak-minutes", type=float, default=0.0, help="run the hub alone this long, watch memory"
    )
    p.add_argument("--rss-interval", type=float, default=5.0, help="seconds between memory samples")
    p.add_argument(
        "--login",
        choices=("eid", "dev"),
        default="eid",
        help="eid: server-side e-ID sessions, as in production; dev: the test login's signed cookie",
    )
    p.add_argument("--lean", action="store_true", help="also run the prototype of the proposed fixes")
    p.add_argument("--profile", action="store_true", help="py-spy record all hub workers in round 1")
    p.add_argument("--database", default="bench_hub", help="dropped and recreated on every run")
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432", help="server, no database")
    p.add_argument(
        "--code",
        default="HEAD",
        help="commit whose hub is served, from a clean export (others edit the shared work tree); "
        "'worktree' serves the work tree as it is",
    )
    p.add_argument(
        "--versus",
        metavar="COMMIT",
        help="also serve the hub of this commit (same schema), as a contender of its own: "
        "before/after in one run, alternated round by round",
    )
    p.add_argument(
        "--versus-shared-socket",
        action="store_true",
        help="serve the --versus hub (default: HEAD) with one shared listening socket: the two "
        "ways of accepting connections compared in one run",
    )
    p.add_argument(
        "--versus-layout",
        metavar="WORKERSxTHREADS",
        help="serve the --versus hub (default: HEAD) with this many workers and threads instead, "
        "e.g. 2x4: two process layouts compared in one run",
    )
    p.add_argument("--out", type=Path, help="folder for logs, profile and results.json (default: a temp dir)")
    args = p.parse_args(argv)
    if args.citizens < args.slots:
        p.error("--citizens must be at least --slots (each slot gets citizens // slots attempts)")
    if args.versus_layout:
        workers, _, threads = args.versus_layout.partition("x")
        if not (workers.isdigit() and threads.isdigit() and int(workers) and int(threads)):
            p.error("--versus-layout is WORKERSxTHREADS, e.g. 2x4")
        args.versus_layout = (int(workers), int(threads))
    if args.versus_layout or args.versus_shared_socket:
        args.versus = args.versus or "HEAD"  # another way of serving the same code
    return args


def attempts_for(
    label: str,
    targets: Sequence[str] | Sequence[int],
    payload_key: str,
    extra: dict[str, str],
    cookies: Sequence[str],
    order: str,
) -> list[Attempt]:
    """Citizen n tries target n // k (k = citizens // targets), each with a key of its own;
    ``cookies[n]`` is citizen n's ``Cookie`` header."""
    per_target = len(cookies) // len(targets)
    attempts = []
    for n in range(per_target * len(targets)):
        target = targets[n // per_target]
        body = {**extra, payload_key: target, "idempotency_key": f"bench-{label}-{n:07d}"}
        headers = {"Content-Type": "application/json", "Cookie": cookies[n]}
        attempts.append(Attempt(json.dumps(body).encode(), headers, str(target)))
    if order == "shuffled":
        random.Random(label).shuffle(attempts)
    return attempts


class RssSampler(threading.Thread):
    """Samples the hub workers' resident memory every few seconds while the run goes on."""

    def __init__(self, server: Gunicorn, interval: float) -> None:
        super().__init__(daemon=True)
        self.server, self.interval = server, interval
        self.samples: list[tuple[float, dict[int, int]]] = []
        self._stop_event = threading.Event()
        self._t0 = time.monotonic()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append((time.monotonic() - self._t0, self.server.worker_rss()))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.samples.append((time.monotonic() - self._t0, self.server.worker_rss()))


def memory_report(samples: list[tuple[float, dict[int, int]]]) -> tuple[list[str], bool]:
    """Start/end/max per worker and a verdict: flat when the second half's trend, extrapolated over
    the whole run, stays under max(5 MiB, 3 % of the start)."""
    lines, flat = [], True
    pids = sorted({pid for _, seen in samples for pid in seen})
    for pid in pids:
        series = [(t, seen[pid] / MiB) for t, seen in samples if pid in seen]
        if len(series) < 4:
            continue
        start, end, peak = series[0][1], series[-1][1], max(v for _, v in series)
        half = series[len(series) // 2 :]
        slope = _slope(half)  # MiB per second
        span = series[-1][0] - series[0][0]
        drift = slope * span
        ok = drift < max(5.0, 0.03 * start)
        flat &= ok
        lines.append(
            f"  worker {pid}: start {start:.1f} MiB, end {end:.1f}, max {peak:.1f}; "
            f"second-half trend {slope * 60:+.2f} MiB/min ({drift:+.1f} MiB over {span / 60:.1f} min) "
            f"-> {'flat' if ok else 'GROWING'}"
        )
    return lines, flat


def _slope(points: Sequence[tuple[float, float]]) -> float:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def measured_phase(
    name: str, server: Gunicorn, url: str, attempts: list[Attempt], args: argparse.Namespace
) -> PhaseResult:
    """Run one phase and note what the server, PostgreSQL and the whole machine spent on it."""
    server_before, pg_before, busy_before = (
        server.cpu_seconds(),
        postgres_cpu_seconds(args.database),
        machine_busy_seconds(),
    )
    result = run_phase(name, url, attempts, args.clients, args.max_phase_seconds, args.client)
    result.server_cpu = server.cpu_seconds() - server_before
    result.postgres_cpu = postgres_cpu_seconds(args.database) - pg_before
    result.machine_cpu = machine_busy_seconds() - busy_before
    return result


def phase_line(r: PhaseResult) -> str:
    others = {s: n for s, n in r.statuses.items() if s not in (201, 409)}
    return (
        f"{r.name:<12} {r.answered:>6}/{r.planned:<6} in {r.seconds:6.2f} s  "
        f"{r.attempts_per_second:7.0f} att/s  {r.successes_per_second:6.0f} ok/s  "
        f"p50 {r.percentile_ms(50):6.1f}  p95 {r.percentile_ms(95):6.1f}  p99 {r.percentile_ms(99):6.1f} ms  "
        f"cpu/att ms: server {r.per_attempt_ms(r.server_cpu):.2f} pg {r.per_attempt_ms(r.postgres_cpu):.2f} "
        f"client {r.per_attempt_ms(r.client_cpu):.2f} machine {r.per_attempt_ms(r.machine_cpu):.2f}"
        + (f"  OTHER STATUSES {others}" if others else "")
        + ("  (stopped by deadline)" if r.stopped_by_deadline else "")
    )


def machine_facts(args: argparse.Namespace, admin_url: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(admin_url) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    revision = "HEAD" if args.code == "worktree" else args.code
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision], capture_output=True, text=True, cwd=REPO_DIR, check=False
    ).stdout.strip()
    if args.code == "worktree":  # say whether the served code differs from the commit
        packages = ["hub", "standalone_calendar", "clinic_adapters", "identity", "terms"]
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *packages],
            capture_output=True, text=True, cwd=REPO_DIR, check=False,
        ).stdout.split("\n")  # fmt: skip
        changed = [line[3:] for line in dirty if line.strip()]
        commit += f" (work tree{'; uncommitted changes in ' + ', '.join(changed) if changed else ''})"
    else:
        commit += " (clean export)"
    return {
        "cpus": str(os.cpu_count()),
        "memory": f"{psutil.virtual_memory().total / 1024**3:.1f} GiB",
        "load average before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "postgresql": pg,
        "python": sys.version.split()[0],
        "commit": commit,
        "cpu probe": f"{cpu_probe_seconds():.2f} s",
    }


def serve_clean_export(args: argparse.Namespace, out: Path) -> None:
    """Re-run this script with the hub imported from a clean export of ``--code``.

    Others edit and break the shared work tree while a run goes on; a benchmark should measure a
    commit. PYTHONPATH puts the export before the editable install, for this process and for the
    servers it starts (the hub's gunicorn runs with the export as its working directory).
    """
    if args.code == "worktree" or os.environ.get("BENCH_CODE_DIR"):
        return
    code = export(args.code, out / "code")
    env = {**os.environ, "BENCH_CODE_DIR": str(code), "PYTHONPATH": str(code)}
    script = str(Path(__file__).resolve())
    os.execve(sys.executable, [sys.executable, script, *sys.argv[1:], "--out", str(out)], env)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="booking-rush-"))
    out.mkdir(parents=True, exist_ok=True)
    serve_clean_export(args, out)
    code_dir = Path(os.environ.get("BENCH_CODE_DIR") or REPO_DIR)
    # Imported only now: they import the hub, which must come from the served code.
    import rush_setup
    import verify

    admin_url = f"{args.pg}/postgres"
    database_url = f"{args.pg.replace('postgresql://', 'postgresql+psycopg://')}/{args.database}"
    secret = secrets.token_urlsafe(32)
    settings = GunicornSettings(args.worker_class, args.workers, args.threads, not args.shared_socket)
    per_slot = args.citizens // args.slots
    facts = machine_facts(args, admin_url)
    print("machine:", ", ".join(f"{k} {v}" for k, v in facts.items()))
    print(
        f"gunicorn: {settings.describe()}; login {args.login}; {args.clients} {args.client} clients; "
        f"{args.citizens} citizens, "
        f"{args.slots} slots x capacity {args.capacity} ({per_slot} attempts per slot); out: {out}"
    )

    started = time.monotonic()
    rush_setup.recreate_database(admin_url, args.database)
    identity_file = rush_setup.write_identity_file(out / "instance")
    app = rush_setup.make_app(database_url, secret, identity_file)
    engine = rush_setup.database(app).engine
    with rush_setup.database(app).session_scope() as db:
        rush_setup.create_campaign_clinic(db, args.capacity)
    citizen_ids = rush_setup.create_citizens(app, args.citizens)
    rush_setup.accept_campaign_terms(app, rush_setup.CLINIC_HSA_ID, citizen_ids)
    # The prototype reads the test login's cookie; the hub is logged in as --login says.
    dev_cookies = rush_setup.session_cookies(app, citizen_ids)
    hub_cookies = rush_setup.eid_session_cookies(app, citizen_ids) if args.login == "eid" else dev_cookies
    warm_slots = max(1, min(args.warmup, args.citizens) // per_slot)
    # Contenders that book hub slots.
    slot_users = 1 + (not args.soak_minutes) * (bool(args.lean) + bool(args.versus))
    if args.soak_minutes:
        # Enough fresh slots for the soak at up to 2,000 attempts/s; the calendar holds ~114,000.
        rounds_planned = min(math.ceil(args.soak_minutes * 60 * 2000 / args.citizens), 100_000 // args.slots)
    else:
        rounds_planned = args.rounds
    slots_needed = (warm_slots + args.slots * rounds_planned) * slot_users
    tomorrow = date.today() + timedelta(days=1)
    slots = rush_setup.list_free_slots(app, slots_needed, tomorrow)
    if any(s.capacity != args.capacity for s in slots):
        raise RuntimeError("listed slots do not have the asked capacity")
    fresh = iter(s.id for s in slots)
    print(f"setup: {args.citizens} citizens, {len(slots)} slots in {time.monotonic() - started:.1f} s")

    hub_env = rush_setup.server_environment(
        database_url, secret, str(out / "instance"), identity_file, args.login
    )
    hub_server = Gunicorn("hub", "hub:create_app()", settings, hub_env, out, chdir=code_dir)
    contenders = [Contender("hub", hub_server, True)]
    if not args.soak_minutes:
        base_env = {"BENCH_BASELINE_DATABASE_URL": database_url}
        base = Gunicorn("baseline", "baseline_app:create_app()", settings, base_env, out, chdir=BENCH_DIR)
        contenders.append(Contender("baseline", base, False))
        if args.versus:
            versus_code = export(args.versus, out / "versus-code")
            versus_env = {**hub_env, "PYTHONPATH": str(versus_code)}
            versus_settings = (
                dataclasses.replace(settings, workers=args.versus_layout[0], threads=args.versus_layout[1])
                if args.versus_layout
                else settings
            )
            if args.versus_shared_socket:
                versus_settings = dataclasses.replace(versus_settings, reuse_port=False)
            print(f"versus: {args.versus}, gunicorn: {versus_settings.describe()}")
            versus = Gunicorn(
                "versus", "hub:create_app()", versus_settings, versus_env, out, chdir=versus_code
            )
            contenders.append(Contender("versus", versus, True))
        if args.lean:
            lean_env = {"BENCH_LEAN_DATABASE_URL": database_url, "HUB_SECRET_KEY": secret}
            lean = Gunicorn("lean", "lean_booking_app:create_app()", settings, lean_env, out, chdir=BENCH_DIR)
            contenders.append(Contender("lean", lean, True))
    hub = contenders[0].server
    problems: list[str] = []
    results: list[PhaseResult] = []

    def phase(who: Contender, label: str, count: int, measure: bool) -> PhaseResult:
        """One rush on ``count`` fresh slots (or baseline seats), checked in the database after."""
        cookies = hub_cookies if who.name in HUBS else dev_cookies
        rushing = cookies[: count * per_slot]  # k attempts per target, as in the measured rounds
        if who.books_slots:
            targets: list[str] | list[int] = [next(fresh) for _ in range(count)]
            attempts = attempts_for(
                label, targets, "slot_id", {"clinic": rush_setup.CLINIC_HSA_ID}, rushing, args.order
            )
        else:
            targets = rush_setup.create_baseline_seats(app, count, args.capacity)
            attempts = attempts_for(label, targets, "seat_id", {}, rushing, args.order)
        name = f"{who.name} {label}"
        if not measure:
            result = run_phase(name, who.url, attempts, args.clients, args.max_phase_seconds, args.client)
        else:
            profiling = args.profile and who.name == "hub" and label == "r1"
            with py_spy(who.server.main_pid(), out / "hub-profile.txt") if profiling else ExitStack():
                result = measured_phase(name, who.server, who.url, attempts, args)
        if who.books_slots:
            problems.extend(verify.check_hub_phase(engine, result, [str(t) for t in targets], args.capacity))
        else:
            problems.extend(verify.check_baseline_phase(engine, result, [int(t) for t in targets]))
        print(phase_line(result), flush=True)
        return result

    with ExitStack() as stack:
        for who in contenders:
            who.server.start(who.ready_path)
            stack.callback(who.server.stop)
        sampler = RssSampler(hub, args.rss_interval)
        # Warm-up: every worker imports, connects and fills its caches before the clock counts.
        for who in contenders:
            phase(who, "warm", warm_slots, measure=False)
        sampler.start()
        stack.callback(lambda: sampler.stop() if sampler.is_alive() else None)

        soak_until = time.monotonic() + args.soak_minutes * 60
        for round_no in range(1, rounds_planned + 1):
            if args.soak_minutes:
                if time.monotonic() >= soak_until:
                    break
                args.max_phase_seconds = max(1.0, soak_until - time.monotonic())
            # Rotate who goes first, so drift on a shared machine does not favour one contender.
            shift = (round_no - 1) % len(contenders)
            for who in contenders[shift:] + contenders[:shift]:
                results.append(phase(who, f"r{round_no}", args.slots, measure=True))
        sampler.stop()
        problems += verify.check_calendar(engine)

    summary = summarize(results, args, problems, sampler.samples)
    summary["machine"] = facts
    summary["gunicorn"] = settings.describe()
    summary["client"] = args.client
    summary["cpu probe after"] = f"{cpu_probe_seconds():.2f} s"
    print(f"cpu probe: {facts['cpu probe']} before the run, {summary['cpu probe after']} after")
    (out / "results.json").write_text(json.dumps(summary, indent=2))
    print(f"results: {out / 'results.json'}; total {time.monotonic() - started:.0f} s")
    return 1 if problems else 0


def summarize(
    results: list[PhaseResult],
    args: argparse.Namespace,
    problems: list[str],
    samples: list[tuple[float, dict[int, int]]],
) -> dict[str, object]:
    hub = [r for r in results if r.name.startswith("hub")]
    base = [r for r in results if r.name.startswith("baseline")]
    lean = [r for r in results if r.name.startswith("lean")]
    versus = [r for r in results if r.name.startswith("versus")]

    def pooled(rs: list[PhaseResult]) -> PhaseResult:
        merged = PhaseResult("pooled", sum(r.planned for r in rs))
        for r in rs:
            merged.latencies += r.latencies
        return merged

    summary: dict[str, object] = {"args": {k: str(v) for k, v in vars(args).items()}, "problems": problems}
    print("\n== summary ==")
    for name, rs in (("hub", hub), ("versus", versus), ("baseline", base), ("lean", lean)):
        if not rs:
            continue
        att = statistics.median(r.attempts_per_second for r in rs)
        ok = statistics.median(r.successes_per_second for r in rs)
        lat = pooled(rs)
        p50, p95, p99 = (lat.percentile_ms(p) for p in (50, 95, 99))
        errors = sum(r.errors for r in rs)
        print(
            f"{name:<9} median {att:7.0f} attempts/s, {ok:6.0f} successes/s; "
            f"latency p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms; errors {errors}"
        )
        summary[name] = {
            "attempts_per_s_median": round(att, 1),
            "successes_per_s_median": round(ok, 1),
            "rounds_attempts_per_s": [round(r.attempts_per_second, 1) for r in rs],
            "p50_ms": round(p50, 2),
            "p95_ms": round(p95, 2),
            "p99_ms": round(p99, 2),
            "successes": sum(r.statuses[201] for r in rs),
            "refused_409": sum(r.statuses[409] for r in rs),
            "errors": errors,
            "server_cpu_ms_per_attempt": round(
                statistics.median(r.per_attempt_ms(r.server_cpu) for r in rs), 3
            ),
            "postgres_cpu_ms_per_attempt": round(
                statistics.median(r.per_attempt_ms(r.postgres_cpu) for r in rs), 3
            ),
            "client_cpu_ms_per_attempt": round(
                statistics.median(r.per_attempt_ms(r.client_cpu) for r in rs), 3
            ),
        }
    if hub and base:
        pairs = [h.attempts_per_second / b.attempts_per_second for h, b in zip(hub, base, strict=False)]
        ratio = statistics.median(r.attempts_per_second for r in hub) / statistics.median(
            r.attempts_per_second for r in base
        )
        summary["ratio_hub_to_baseline"] = round(ratio, 3)
        print(f"ratio hub/baseline (medians): {ratio:.3f}  per round: {', '.join(f'{p:.3f}' for p in pairs)}")
        hub_summary = summary["hub"]
        assert isinstance(hub_summary, dict)
        targets = {
            "ratio >= 0.5": ratio >= 0.5,
            "attempts/s >= 1000": hub_summary["attempts_per_s_median"] >= 1000,
            "p99 <= 100 ms": hub_summary["p99_ms"] <= 100,
            "0 overbookings": not any("OVERBOOKED" in p for p in problems),
        }
        summary["targets"] = targets
        print("targets: " + ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in targets.items()))
    if versus and base:
        versus_ratio = statistics.median(r.attempts_per_second for r in versus) / statistics.median(
            r.attempts_per_second for r in base
        )
        pairs = [h.attempts_per_second / v.attempts_per_second for h, v in zip(hub, versus, strict=False)]
        summary["ratio_versus_to_baseline"] = round(versus_ratio, 3)
        summary["ratio_hub_to_versus_per_round"] = [round(p, 3) for p in pairs]
        print(
            f"ratio versus ({args.versus})/baseline (medians): {versus_ratio:.3f}; "
            f"hub/versus per round: {', '.join(f'{p:.3f}' for p in pairs)}"
        )
    if lean and base:
        lean_ratio = statistics.median(r.attempts_per_second for r in lean) / statistics.median(
            r.attempts_per_second for r in base
        )
        summary["ratio_lean_prototype_to_baseline"] = round(lean_ratio, 3)
        print(
            f"ratio lean prototype/baseline (medians): {lean_ratio:.3f} "
            "(a prototype of the proposed fixes, not the hub)"
        )
    lines, flat = memory_report(samples)
    print(f"hub worker memory (RSS, {len(samples)} samples every {args.rss_interval:.0f} s):")
    print("\n".join(lines))
    print(f"memory verdict: {'flat' if flat else 'GROWING'}")
    summary["memory"] = {
        "flat": flat,
        "workers": lines,
        "samples_mib": [
            [round(t, 1), {str(p): round(v / MiB, 1) for p, v in seen.items()}] for t, seen in samples
        ],
    }
    print(
        "database checks: "
        + (
            "all passed (0 overbookings; every 201 is exactly one stored booking)"
            if not problems
            else "PROBLEMS:\n  " + "\n  ".join(problems)
        )
    )
    return summary


if __name__ == "__main__":
    sys.exit(main())
