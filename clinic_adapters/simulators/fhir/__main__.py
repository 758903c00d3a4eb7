"""``python -m clinic_adapters.simulators.fhir --port N``: serve the demo clinics until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
from datetime import date

from clinic_adapters.simulators.fhir.config import demo_config
from clinic_adapters.simulators.fhir.server import FhirSimulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Reference FHIR R4 record-system simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--weeks", type=int, default=4, help="weeks of slots to generate")
    parser.add_argument(
        "--start-date", type=date.fromisoformat, default=None, help="first day of slots (default: today)"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each FHIR request")
    parser.add_argument("--token-lifetime", type=int, default=300)
    args = parser.parse_args(argv)
    config = demo_config(args.start_date, args.weeks)
    config.token_lifetime = args.token_lifetime
    sim = FhirSimulator(config, host=args.host, port=args.port)
    sim.faults.latency = args.latency
    print(
        f"FHIR R4 simulator: base {sim.base_url}  token {sim.token_url}  "
        f"client {config.client_id}/{config.client_secret}",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        sim.serve_forever()


if __name__ == "__main__":
    main()
