"""What one booking attempt costs inside the hub: SQL statements and CPU, without HTTP or load.

Steadier than a rush on a shared machine (CPU time, not wall time, and no other contenders), so
it is the quick check while changing the booking path; the rush is the measurement.

    .venv/bin/python bench/attempt_cost.py [--attempts 400] [--statements] [--versus COMMIT]

It recreates the database ``bench_cost``, sets up the rush's campaign clinic (terms accepted),
then books through the Flask test client: each free time once by a winner and by
``--losers`` other citizens who are refused (409), as in a rush. Prints per outcome: statements
per attempt and CPU milliseconds per attempt, and PostgreSQL's CPU per attempt (median of the
batches). Statements are counted in one more batch, not timed, at psycopg's cursor: the hub
reads its hottest statements past SQLAlchemy only while nothing listens to the engine
(:mod:`hub.driver_reads`), so an engine listener would count another path.
``--statements`` prints the statements of one success and one refusal.

``--versus COMMIT`` measures the work tree's hub and a clean export of ``COMMIT`` (same schema)
in two processes of their own, each on a database of its own, batch by batch in turn, and
prints the median of the per-pair ratios: this machine's speed drifts by up to 2x over minutes,
and only measurements taken side by side in time compare two versions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

OUTCOMES = (201, 409)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="bench_cost")
    parser.add_argument("--attempts", type=int, default=400, help="attempts per batch")
    parser.add_argument("--batches", type=int, default=5, help="measured batches, after one warm-up batch")
    parser.add_argument("--losers", type=int, default=9, help="refused attempts per free time")
    parser.add_argument("--login", choices=("eid", "dev"), default="eid", help="as bench/booking_rush.py")
    parser.add_argument("--statements", action="store_true")
    parser.add_argument("--profile", metavar="HTML", help="write a pyinstrument profile of the batches")
    parser.add_argument("--versus", metavar="COMMIT", help="compare with this commit, batch by batch")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # a --versus side
    return parser.parse_args()


def prepare(args: argparse.Namespace) -> Callable[[int], dict]:
    """Set up the database and return ``batch(number)``: one batch's costs (number 0 warms up)."""
    # Imported only now: under --versus they come from the served code (PYTHONPATH).
    import rush_setup
    from servers import postgres_cpu_seconds

    from clinic_adapters.timezones import utc_now
    from hub.db import database

    rush_setup.recreate_database(args.admin_url.replace("+psycopg", ""), args.database)
    url = args.admin_url.rsplit("/", 1)[0] + "/" + args.database
    secret = uuid.uuid4().hex
    identity_file = rush_setup.write_identity_file(Path(tempfile.mkdtemp(prefix="attempt-cost-")))
    app = rush_setup.make_app(url, secret, identity_file)
    app.config["DEV_LOGIN"] = args.login == "dev"
    with app.app_context(), database(app).session_scope() as db:
        rush_setup.create_campaign_clinic(db, capacity=1)
    citizens = rush_setup.create_citizens(app, args.attempts)
    rush_setup.accept_campaign_terms(app, rush_setup.CLINIC_HSA_ID, citizens)
    if args.login == "eid":
        cookies = rush_setup.eid_session_cookies(app, citizens)
    else:
        cookies = rush_setup.session_cookies(app, citizens)
    per_slot = args.losers + 1
    slots_per_batch = args.attempts // per_slot
    slots = rush_setup.list_free_slots(
        app, slots_per_batch * (args.batches + 2), (utc_now() + timedelta(days=1)).date()
    )

    statements: list[str] = []

    @contextlib.contextmanager
    def counting() -> Iterator[None]:
        """Count what reaches PostgreSQL at psycopg's cursor. An engine listener would count
        another path: while one listens, the hub's hottest reads go SQLAlchemy's way instead of
        psycopg's (``hub.driver_reads``), and what they cost apart from the timed batches."""
        import psycopg

        originals = {name: getattr(psycopg.Cursor, name) for name in ("execute", "executemany")}

        def counted(original: Callable[..., Any]) -> Callable[..., Any]:
            def run(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
                statements.append(query.decode() if isinstance(query, bytes) else str(query))
                return original(cursor, query, *args, **kwargs)

            return run

        for name, original in originals.items():
            setattr(psycopg.Cursor, name, counted(original))
        try:
            yield
        finally:
            for name, original in originals.items():
                setattr(psycopg.Cursor, name, original)

    client = app.test_client()
    shown: set[int] = set()

    def attempt(n: int, slot_id: str) -> tuple[int, list[str]]:
        name, value = cookies[n % len(cookies)].split("=", 1)
        client.set_cookie(name, value, domain="localhost")
        del statements[:]
        response = client.post(
            "/api/v1/bookings",
            json={
                "clinic": rush_setup.CLINIC_HSA_ID,
                "slot_id": slot_id,
                "idempotency_key": uuid.uuid4().hex,
            },
        )
        return response.status_code, list(statements)

    def batch(number: int) -> dict:
        """Batch 0 warms up; batch ``--batches`` + 1 counts statements."""
        counts_statements = number == args.batches + 1
        with counting() if counts_statements else contextlib.nullcontext():
            return run_batch(number, counts_statements)

    def run_batch(number: int, counting: bool) -> dict:
        spent: Counter[int] = Counter()
        done: Counter[int] = Counter()
        counts: dict[int, Counter[int]] = {}
        pg_before = postgres_cpu_seconds(args.database)
        for s in range(slots_per_batch):
            slot = slots[number * slots_per_batch + s]
            for k in range(per_slot):
                began = time.thread_time()
                status, sql = attempt(s * per_slot + k, slot.id)
                spent[status] += time.thread_time() - began
                done[status] += 1
                if counting:
                    counts.setdefault(status, Counter())[len(sql)] += 1
                if counting and args.statements and status not in shown:
                    shown.add(status)
                    print(f"--- {status}: {len(sql)} statements", file=sys.stderr)
                    for line in sql:
                        print("   ", " ".join(line.split())[:160], file=sys.stderr)
        pg_ms = 1000 * (postgres_cpu_seconds(args.database) - pg_before) / sum(done.values())
        return {
            "cpu_ms": {str(s): 1000 * spent[s] / done[s] for s in done},
            "statements": {str(s): dict(c) for s, c in counts.items()},
            "pg_ms": pg_ms,
        }

    return batch


def measure(args: argparse.Namespace) -> None:
    batch = prepare(args)
    batch(0)  # warm-up: caches and compiled statements
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
    results = [batch(n) for n in range(1, args.batches + 1)]
    if profiler is not None:
        profiler.stop()
        Path(args.profile).write_text(profiler.output_html())
        print(profiler.output_text(unicode=True, color=False, show_all=False)[:12000])
    report("", results, batch(args.batches + 1))


def report(label: str, results: list[dict], counted: dict) -> dict[str, float]:
    """Print medians over the batches and the statements ``counted``; return the medians ("201",
    "409", "pg")."""
    medians = {}
    for status in map(str, OUTCOMES):
        values = [r["cpu_ms"][status] for r in results if status in r["cpu_ms"]]
        if not values:
            continue
        counts = {int(k): v for k, v in counted["statements"].get(status, {}).items()}
        medians[status] = statistics.median(values)
        print(
            f"{label}{status}: statements per attempt {counts}, CPU {medians[status]:.2f} ms "
            "per attempt (batches: " + ", ".join(f"{v:.2f}" for v in values) + ")"
        )
    pg = [r["pg_ms"] for r in results]
    medians["pg"] = statistics.median(pg)
    print(
        f"{label}PostgreSQL: CPU {medians['pg']:.2f} ms per attempt, any outcome (batches: "
        + ", ".join(f"{v:.2f}" for v in pg)
        + ")"
    )
    unexpected = {s for r in results for s in r["cpu_ms"] if int(s) not in OUTCOMES}
    if unexpected:
        print(f"{label}unexpected answers: {sorted(unexpected)}")
    return medians


def serve(args: argparse.Namespace) -> None:
    """One side of --versus: set up, then run the batch each line of stdin names."""
    batch = prepare(args)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        print(json.dumps(batch(int(line))), flush=True)


def compare(args: argparse.Namespace) -> None:
    from servers import export

    code = export(args.versus, Path(tempfile.mkdtemp(prefix="attempt-cost-versus-")) / "code")
    passed = [a for a in sys.argv[1:] if a not in ("--versus", args.versus)]
    sides = {}
    for name, pythonpath, database_name in (
        ("work tree", os.environ.get("PYTHONPATH", ""), args.database + "_a"),
        (args.versus, str(code), args.database + "_b"),
    ):
        command = [sys.executable, __file__, *passed, "--serve", "--database", database_name]
        env = {**os.environ, "PYTHONPATH": pythonpath}
        # Both on the same core, one at a time: neither runs while the other is measured.
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
        sides[name] = subprocess.Popen(["taskset", "-c", "1", *command], env=env, **pipes)
    for process in sides.values():
        assert json.loads(process.stdout.readline()) == {"ready": True}
    results: dict[str, list[dict]] = {name: [] for name in sides}
    counted: dict[str, dict] = {}
    order = list(sides)
    for number in range(args.batches + 2):
        for name in order if number % 2 else order[::-1]:
            process = sides[name]
            process.stdin.write(f"{number}\n")
            process.stdin.flush()
            result = json.loads(process.stdout.readline())
            if number == args.batches + 1:
                counted[name] = result
            elif number:  # batch 0 warms up
                results[name].append(result)
    for process in sides.values():
        process.stdin.close()
        process.wait()
    for name, rs in results.items():
        report(f"{name}: ", rs, counted[name])
    # Each pair ran side by side in time, so its ratio is free of the machine's drift; the
    # median of those ratios, not the ratio of the two medians, compares the versions.
    ratios = {}
    for key in (*map(str, OUTCOMES), "pg"):
        pairs = [
            _value(a, key) / _value(b, key)
            for a, b in zip(*results.values(), strict=True)
            if _value(a, key) is not None and _value(b, key)
        ]
        if pairs:
            ratios[key] = statistics.median(pairs)
            print(f"  {key} per batch pair: " + ", ".join(f"{p:.3f}" for p in pairs))
    print(
        f"work tree / {args.versus}, median of the batch pairs: "
        + ", ".join(f"{key} {ratio:.3f}" for key, ratio in ratios.items())
    )


def _value(result: dict, key: str) -> float | None:
    return result["pg_ms"] if key == "pg" else result["cpu_ms"].get(key)


def main() -> None:
    args = parse_args()
    if args.serve:
        serve(args)
    elif args.versus:
        compare(args)
    else:
        measure(args)


if __name__ == "__main__":
    main()
