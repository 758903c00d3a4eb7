"""What one booking attempt costs inside the hub: SQL statements and CPU, without HTTP or load.

Steadier than a rush on a shared machine (CPU time, not wall time, and no other contenders), so
it is the quick check while changing the booking path; the rush is the measurement.

    .venv/bin/python bench/attempt_cost.py [--attempts 400] [--statements]

It recreates the database ``bench_cost``, sets up the rush's campaign clinic (terms accepted),
then books through the Flask test client: each free time once by a winner and by
``--losers`` other citizens who are refused (409), as in a rush. Prints per outcome: statements
per attempt and CPU milliseconds per attempt (median of 5 batches). ``--statements`` prints the
statements of one success and one refusal.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rush_setup

from clinic_adapters.timezones import utc_now
from hub.db import database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="bench_cost")
    parser.add_argument("--attempts", type=int, default=400, help="attempts per batch")
    parser.add_argument("--losers", type=int, default=9, help="refused attempts per free time")
    parser.add_argument("--login", choices=("eid", "dev"), default="eid", help="as bench/booking_rush.py")
    parser.add_argument("--statements", action="store_true")
    parser.add_argument("--profile", metavar="HTML", help="write a pyinstrument profile of the batches")
    args = parser.parse_args()

    rush_setup.recreate_database(args.admin_url.replace("+psycopg", ""), args.database)
    url = args.admin_url.rsplit("/", 1)[0] + "/" + args.database
    secret = uuid.uuid4().hex
    identity_file = rush_setup.write_identity_file(Path(tempfile.mkdtemp(prefix="attempt-cost-")))
    app = rush_setup.make_app(url, secret, identity_file)
    app.config["DEV_LOGIN"] = args.login == "dev"
    citizens_needed = args.attempts
    with app.app_context(), database(app).session_scope() as db:
        rush_setup.create_campaign_clinic(db, capacity=1)
    citizens = rush_setup.create_citizens(app, citizens_needed)
    rush_setup.accept_campaign_terms(app, rush_setup.CLINIC_HSA_ID, citizens)
    if args.login == "eid":
        cookies = rush_setup.eid_session_cookies(app, citizens)
    else:
        cookies = rush_setup.session_cookies(app, citizens)
    per_slot = args.losers + 1
    slots_per_batch = args.attempts // per_slot
    slots = rush_setup.list_free_slots(app, slots_per_batch * 6, (utc_now() + timedelta(days=1)).date())

    statements: list[str] = []
    event.listen(database(app).engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    client = app.test_client()

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

    cpu: dict[int, list[float]] = {201: [], 409: []}
    counts: dict[int, Counter[int]] = {201: Counter(), 409: Counter()}
    shown: set[int] = set()
    profiler = None
    for batch in range(6):
        spent: dict[int, float] = {201: 0.0, 409: 0.0}
        done: Counter[int] = Counter()
        for s in range(slots_per_batch):
            slot = slots[batch * slots_per_batch + s]
            for k in range(per_slot):
                n = s * per_slot + k
                began = time.thread_time()
                status, sql = attempt(n, slot.id)
                spent[status] = spent.get(status, 0.0) + time.thread_time() - began
                done[status] += 1
                counts.setdefault(status, Counter())[len(sql)] += 1
                if args.statements and status not in shown:
                    shown.add(status)
                    print(f"--- {status}: {len(sql)} statements")
                    for line in sql:
                        print("   ", " ".join(line.split())[:160])
        if batch == 0:
            if args.profile:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0002)
                profiler.start()
            continue  # warm-up: caches and compiled statements
        for status in (201, 409):
            if done[status]:
                cpu[status].append(1000 * spent[status] / done[status])
    if profiler is not None:
        profiler.stop()
        Path(args.profile).write_text(profiler.output_html())
        print(profiler.output_text(unicode=True, color=False, show_all=False)[:12000])
    for status in (201, 409):
        print(
            f"{status}: statements per attempt {dict(counts[status])}, "
            f"CPU {statistics.median(cpu[status]):.2f} ms per attempt (batches: "
            + ", ".join(f"{v:.2f}" for v in cpu[status])
            + ")"
        )
    unexpected = {s: c for s, c in counts.items() if s not in (201, 409)}
    if unexpected:
        print(f"unexpected answers: {unexpected}")


if __name__ == "__main__":
    main()
