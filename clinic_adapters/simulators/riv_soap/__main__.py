"""Run the simulated RIV-TA producer: ``python -m clinic_adapters.simulators.riv_soap --port 8089``."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path

from clinic_adapters.simulators.riv_soap.model import facility_from_dict
from clinic_adapters.simulators.riv_soap.presets import PRESETS
from clinic_adapters.simulators.riv_soap.server import RivSoapSimulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    parser.add_argument("--seed", choices=sorted(PRESETS), default="demo", help="built-in clinics")
    parser.add_argument("--config", type=Path, help="JSON list of facilities (replaces --seed)")
    parser.add_argument("--weeks", type=int, default=4, help="how far ahead times are offered")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to sleep per call")
    args = parser.parse_args(argv)

    if args.config:
        facilities = [facility_from_dict(f) for f in json.loads(args.config.read_text(encoding="utf-8"))]
    else:
        facilities = PRESETS[args.seed]()
    sim = RivSoapSimulator(facilities, weeks=args.weeks, latency=args.latency)
    url = sim.start(args.host, args.port)
    print(f"RIV-TA crm:scheduling 1.1 simulator at {url} (WSDL: {url}?wsdl)", flush=True)
    for facility in facilities:
        print(f"  {facility.hsa_id}  {facility.name}", flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
