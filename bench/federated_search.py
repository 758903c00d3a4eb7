"""Federated first-free search across many simulated clinics, some slow, some dead.

    .venv/bin/python bench/federated_search.py --clinics 20 --dead 4 --runs 15

Starts one reference record system per clinic on 127.0.0.1 (alternately RIV-TA SOAP and FHIR),
with latencies spread evenly from --min-latency to --max-latency, stops --dead of them, and
times the hub's ``/api/v1/search/first-free`` in three states:

* cold: new adapters (WSDL and token fetched), empty cache, every breaker closed;
* breakers open: cache off, new adapters, and only the dead clinics' breakers open (it searches
  until every live clinic answers, at most six times, and warns when a measured search lost one);
* cached: new adapters, the short-lived free-slot cache on and filled by such searches.

``--clinic-processes K`` serves the clinics from K processes instead of one (record systems do
not share an interpreter lock in life; on 2 cores it made no clear difference, see README).

``--versus COMMIT --pairs N`` runs this work tree's code and a clean export of ``COMMIT`` N times
each, alternated (each run a process of its own, with the other options), and compares their
p95 / slowest and the hub's CPU per search: before and after in one sitting.

``--profile OUT`` samples this process and the simulated clinics with py-spy during the searches
with breakers open (``bench/profile_top.py OUT --within ''``).

It compares p95 with the slowest live clinic answering the search's question (its first three
free times) alone, through its own warm adapter. Bounded:
it stops every server it started and runs for about a minute with the defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import time as wall
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import psutil
from servers import REPO_DIR, cpu_probe_seconds, export, py_spy

from clinic_adapters import ClinicRef, get_adapter
from clinic_adapters.simulators.fhir import FhirSimulator, SimClinic, SimConfig, SimSlotType, SimWindow
from clinic_adapters.simulators.riv_soap import RivSoapSimulator
from clinic_adapters.simulators.riv_soap.presets import simple_facility
from clinic_adapters.timezones import utc_now

SLOT_TYPE = "VACCINATION"
PER_CLINIC = 3  # times per clinic in /api/v1/search/first-free's answer
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def start_clinic(n: int, latency: float) -> tuple[str, str, dict, Callable[[], None]]:
    hsa_id = f"SE2321000016-B{n:03d}"
    if n % 2 == 0:
        soap = RivSoapSimulator(
            [simple_facility(hsa_id, time_type_id=SLOT_TYPE, start="09:00", end="16:00", weekdays=EVERY_DAY)],
            weeks=3,
            latency=latency,
        )
        soap.start()
        return hsa_id, "riv-crm-scheduling", soap.adapter_config(read_timeout=2.0), soap.stop
    clinic = SimClinic(
        hsa_id=hsa_id,
        name=f"Bench {n}",
        slot_types=(SimSlotType(SLOT_TYPE, "Vaccination", 10),),
        windows=(SimWindow(SLOT_TYPE, wall(9), wall(16), weekdays=EVERY_DAY),),
    )
    fhir = FhirSimulator(SimConfig(clinics=(clinic,), weeks=3))
    fhir.start()
    fhir.faults.latency = latency
    return hsa_id, "fhir-r4", fhir.adapter_config(read_timeout=2.0), fhir.stop


def serve_clinics(latencies: dict[int, float], conn: Connection) -> None:
    """Child process: run record systems apart from the hub, so they do not share its GIL."""
    started = {n: start_clinic(n, latency) for n, latency in latencies.items()}
    conn.send({n: (hsa_id, connection, config) for n, (hsa_id, connection, config, _) in started.items()})
    while True:
        command = conn.recv()
        if command == "quit":
            break
        started[command][3]()  # stop one clinic: it is dead from now on
        conn.send("stopped")
    for *_, stop in started.values():
        stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clinics", type=int, default=20)
    parser.add_argument("--dead", type=int, default=4)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--min-latency", type=float, default=0.05)
    parser.add_argument("--max-latency", type=float, default=0.3)
    parser.add_argument("--deadline", type=float, default=2.5, help="FEDERATED_DEADLINE_SECONDS")
    parser.add_argument("--clinic-processes", type=int, default=1, help="processes serving the clinics")
    parser.add_argument(
        "--steady-seconds",
        type=float,
        default=0.0,
        help="then search back to back this long, with and without reloading answers ahead",
    )
    parser.add_argument("--steady-ttl", type=float, default=6.0, help="the cache's time-to-live then")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument(
        "--profile", type=Path, metavar="OUT", help="py-spy the hub during the searches with breakers open"
    )
    parser.add_argument("--versus", metavar="COMMIT", help="also run this commit's code, alternated")
    parser.add_argument("--pairs", type=int, default=3, help="runs of each with --versus")
    args = parser.parse_args()
    if args.versus:
        versus(args.versus, args.pairs, _without_versus(sys.argv[1:]))
        return

    from sqlalchemy import select

    from hub import create_app
    from hub.booking.cache import SlotCache
    from hub.booking.timebooks import Connection, connect
    from hub.db import database
    from hub.migrate import upgrade
    from hub.models import CaseType, Clinic, ClinicCaseType, ClinicSlotType

    folder = Path(tempfile.mkdtemp(prefix="bench-federated-"))
    url = args.database_url or f"sqlite:///{folder / 'hub.sqlite3'}"
    upgrade(url)
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "DATABASE_URL": url,
            "FEDERATED_DEADLINE_SECONDS": args.deadline,
            "FREE_SLOT_CACHE_SECONDS": 30.0,
        }
    )
    latencies = [
        args.min_latency + (args.max_latency - args.min_latency) * n / max(1, args.clinics - 1)
        for n in range(args.clinics)
    ]
    # Record systems run on machines of their own; here in --clinic-processes processes, so that
    # a hundred of them do not queue behind one interpreter lock. Clinic n lives in process n % k.
    k = max(1, args.clinic_processes)
    pipes, processes = [], []
    for i in range(k):
        parent, child = multiprocessing.Pipe()
        share = {n: latency for n, latency in enumerate(latencies) if n % k == i}
        process = multiprocessing.get_context("spawn").Process(target=serve_clinics, args=(share, child))
        process.start()
        pipes.append(parent)
        processes.append(process)
    try:
        served: dict[int, tuple[str, str, dict]] = {}
        for parent in pipes:
            served |= parent.recv()
        clinics = [served[n] for n in range(args.clinics)]
        dead = set(range(0, args.clinics, max(1, args.clinics // max(1, args.dead)))[: args.dead])
        with database(app).session_scope() as db:
            for n, (hsa_id, connection, config) in enumerate(clinics):
                clinic = Clinic(
                    hsa_id=hsa_id,
                    name=f"Bench {n}",
                    municipality="Solna",
                    connection=connection,
                    connection_config={
                        **config,
                        "resilience": {
                            "deadline_seconds": 2.0,
                            "failure_threshold": 2,
                            "reset_after_seconds": 600,
                        },
                    },
                )
                db.add(clinic)
                db.flush()
                db.add(ClinicCaseType(clinic_id=clinic.id, case_type=CaseType.BOOK, enabled=True))
                db.add(
                    ClinicSlotType(
                        clinic_id=clinic.id, code=SLOT_TYPE, visible=True, names={"sv": "Vaccination"}
                    )
                )
        for n in dead:
            pipes[n % k].send(n)
            pipes[n % k].recv()

        live_alone = []
        start = utc_now() + timedelta(hours=2)
        end = start + timedelta(days=app.config["FEDERATED_SEARCH_DAYS"])
        for n, (hsa_id, connection, config) in enumerate(clinics):
            if n in dead:
                continue
            adapter = get_adapter(connection, config)
            # The search's own question: the first PER_CLINIC times (warm first: WSDL, token).
            adapter.earliest_slots(ClinicRef(hsa_id), SLOT_TYPE, start, end, PER_CLINIC)
            began = time.perf_counter()
            adapter.earliest_slots(ClinicRef(hsa_id), SLOT_TYPE, start, end, PER_CLINIC)
            live_alone.append(time.perf_counter() - began)
        slowest = max(live_alone)

        client = app.test_client()

        def search() -> tuple[float, dict]:
            began = time.perf_counter()
            answer = client.get(f"/api/v1/search/first-free?slot_type={SLOT_TYPE}").get_json()
            return time.perf_counter() - began, answer

        def fresh_cache(ttl: float, refresh_ahead: float = 0.0) -> None:
            # Reloading ahead off unless asked: the states above measure one search, not a stream.
            app.extensions["hub.slot_cache"] = SlotCache(ttl, refresh_ahead=refresh_ahead)

        cold = []
        for _ in range(args.runs):
            app.extensions.pop("hub.adapters", None)
            app.extensions.pop("hub.health", None)
            fresh_cache(0)
            cold.append(search()[0])
        dead_ids = {clinics[n][0] for n in dead}

        def lost(answer: dict) -> int:
            """Live clinics without an answer, and dead ones that did not show as unavailable."""
            return sum(
                (c["status"] != "unavailable") if c["hsa_id"] in dead_ids else (c["status"] != "ok")
                for c in answer["clinics"]
            )

        def settle(ttl: float) -> None:
            """New adapters (all breakers closed) and a new cache, then search until only the dead
            clinics' breakers are open (two failures each) and every live clinic answered.

            A slow machine can make live clinics miss their deadlines twice in a row and so open
            their breakers too; a measured search would then ask fewer clinics and do less work.
            """
            app.extensions.pop("hub.adapters", None)
            app.extensions.pop("hub.health", None)
            fresh_cache(ttl)
            # Built here, outside any deadline (a region's hub builds them once per process): built
            # by the first search, they make it a cold one, which can open live clinics' breakers.
            with app.app_context(), database(app).session_scope() as db:
                for clinic in db.scalars(select(Clinic)):
                    with contextlib.suppress(Exception):  # a dead clinic's adapter may fail to build
                        connect(app, Connection.of(clinic))
            for attempt in range(6):
                if not lost(search()[1]) and attempt >= 1:  # the dead clinics' second failure
                    return

        settle(0)
        # CPU per search of the hub (this process) and of the simulated clinics (one process for all
        # of them): on a small machine the two compete for the same cores.
        clinic_servers = [psutil.Process(process.pid) for process in processes]

        def servers_cpu_seconds() -> float:
            return sum(sum(server.cpu_times()[:2]) for server in clinic_servers)

        hub_cpu, servers_cpu = time.process_time(), servers_cpu_seconds()
        with py_spy(os.getpid(), args.profile) if args.profile else ExitStack():
            measured = [search() for _ in range(args.runs)]
        opened = [seconds for seconds, _ in measured]
        hub_cpu = (time.process_time() - hub_cpu) / args.runs
        servers_cpu = (servers_cpu_seconds() - servers_cpu) / args.runs
        settle(30)
        cached_answers = [search() for _ in range(args.runs)]
        cached = [seconds for seconds, _ in cached_answers]

        steady: dict[str, list[float]] = {}
        if args.steady_seconds > 0:
            # A region searched all the time: back to back, a 50 ms pause between searches, for
            # longer than several times-to-live; answers reloaded ahead (as the hub does) or not.
            for label, ahead in (("not reloaded ahead", 0.0), ("reloaded ahead", 1 / 3)) * 2:
                settle(0)
                fresh_cache(args.steady_ttl, ahead)
                search()
                ends = time.perf_counter() + args.steady_seconds
                while time.perf_counter() < ends:
                    steady.setdefault(label, []).append(search()[0])
                    time.sleep(0.05)

        statuses: dict[str, int] = {}
        for _, answer in measured:
            for clinic in answer["clinics"]:
                statuses[clinic["status"]] = statuses.get(clinic["status"], 0) + 1
        print(
            f"{args.clinics} clinics ({len(dead)} dead), latencies {args.min_latency * 1000:.0f}–"
            f"{args.max_latency * 1000:.0f} ms, federated deadline {args.deadline} s; "
            f"cpu probe {cpu_probe_seconds():.2f} s"
        )
        print(
            f"slowest live clinic alone: {slowest * 1000:.0f} ms; statuses over the {args.runs} searches "
            f"with breakers open: {statuses}"
        )
        for label, answers in (("breakers open", measured), ("cached", cached_answers)):
            missing = sum(lost(answer) for _, answer in answers)
            if missing:
                print(f"WARNING: {label}: {missing} clinics' answers lost (those searches did less work)")
        print(
            f"CPU per search with breakers open: hub {hub_cpu * 1000:.0f} ms, "
            f"simulated clinics {servers_cpu * 1000:.0f} ms ({psutil.cpu_count()} cores)"
        )
        for label, values in (("cold", cold), ("breakers open", opened), ("cached", cached)):
            p50, p95 = statistics.median(values), percentile(values, 0.95)
            print(
                f"{label:>14}: p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  "
                f"p95/slowest {p95 / slowest:5.2f}"
            )
        for label, values in steady.items():
            p50, p95 = statistics.median(values) * 1000, percentile(values, 0.95) * 1000
            print(
                f"steady, {label:>18}: {len(values)} searches, p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
                f"max {max(values) * 1000:6.1f} ms  over 100 ms: {sum(v > 0.1 for v in values)}"
            )
    finally:
        for parent in pipes:
            parent.send("quit")
        for process in processes:
            process.join(timeout=30)


def _without_versus(argv: list[str]) -> list[str]:
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--versus", "--pairs"):
            skip = True
        elif not arg.startswith(("--versus=", "--pairs=")):
            kept.append(arg)
    return kept


RESULT = re.compile(r"breakers open: p50 +([\d.]+) ms +p95 +([\d.]+) ms +p95/slowest +([\d.]+)")
CPU = re.compile(r"CPU per search with breakers open: hub (\d+) ms, simulated clinics (\d+) ms")


def versus(commit: str, pairs: int, argv: list[str]) -> None:
    """Alternate runs of the work tree's code and of ``commit``'s; print each and a summary."""
    folder = Path(tempfile.mkdtemp(prefix="bench-federated-versus-"))
    code = {"work tree": REPO_DIR, commit: export(commit, folder / "code")}
    found: dict[str, list[tuple[float, int]]] = {name: [] for name in code}
    for pair in range(pairs):
        for name in list(code) if pair % 2 == 0 else list(code)[::-1]:
            run = subprocess.run(
                [sys.executable, str(code[name] / "bench" / "federated_search.py"), *argv],
                cwd=code[name],
                env={**os.environ, "PYTHONPATH": str(code[name])},
                capture_output=True,
                text=True,
                check=False,
            )
            print(f"== {name}, pair {pair + 1}")
            print(run.stdout.rstrip())
            result, cpu = RESULT.search(run.stdout), CPU.search(run.stdout)
            if run.returncode or not result or not cpu:
                print(run.stderr[-2000:])
                raise SystemExit(f"the run of {name} failed")
            found[name].append((float(result.group(3)), int(cpu.group(1))))
    print("== summary (breakers open)")
    for name, runs in found.items():
        ratios = ", ".join(f"{r:.2f}" for r, _ in runs)
        print(
            f"{name:>12}: p95/slowest median {statistics.median(r for r, _ in runs):.2f} ({ratios}); "
            f"hub CPU per search median {statistics.median(c for _, c in runs)} ms"
        )


if __name__ == "__main__":
    main()
