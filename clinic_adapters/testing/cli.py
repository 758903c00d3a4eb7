"""``python -m clinic_adapters.testing``: run the conformance kit against a live endpoint."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clinic_adapters.contract import CONTRACT_VERSION, ClinicAdapter, ClinicRef
from clinic_adapters.registry import get_adapter
from clinic_adapters.testing.checks import GROUPS, checks_in
from clinic_adapters.testing.context import KitContext
from clinic_adapters.testing.requirements import CAPABILITY_FLAGS, KIT_FLAGS, Requirements
from clinic_adapters.testing.runner import run_kit
from clinic_adapters.testing.version import KIT_VERSION

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Return the command's argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m clinic_adapters.testing",
        description=f"Clinic adapter conformance kit {KIT_VERSION} (contract {CONTRACT_VERSION}). "
        "Books and cancels times with Swedish test personal numbers: run it against a test "
        "system, never production. Exit code 0 when no check failed, 1 otherwise.",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--adapter", metavar="KEY",
                       help="registry key of the adapter, e.g. riv-crm-scheduling (built-in or "
                       "entry point in group hub.clinic_adapters)")
    which.add_argument("--adapter-class", metavar="MODULE:CLASS",
                       help="an adapter class by import path (for adapters not yet registered)")
    parser.add_argument("--config", default="{}", metavar="JSON",
                        help="the adapter's configuration as a JSON object, or @file.json")
    parser.add_argument("--clinic", metavar="HSA_ID", help="the clinic to test at")
    parser.add_argument("--time-type", metavar="ID", help="a time type with free times")
    parser.add_argument("--timezone", default="Europe/Stockholm", help="the clinic's IANA zone")
    parser.add_argument("--lead-hours", type=float, default=48.0,
                        help="use free times from this many hours ahead (past notice and "
                        "cancellation deadlines; default 48)")
    parser.add_argument("--days", type=float, default=28.0,
                        help="length of the window of free times to use (default 28)")
    parser.add_argument("--dst-day", action="append", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="a local day with a clock change to test (repeatable; default: the "
                        "next ones in the zone)")
    parser.add_argument("--off", action="append", default=[], metavar="FLAG",
                        choices=[*CAPABILITY_FLAGS, *KIT_FLAGS],
                        help="switch a requirement flag off (repeatable): "
                        + ", ".join((*CAPABILITY_FLAGS, *KIT_FLAGS)))
    parser.add_argument("--group", action="append", choices=GROUPS, metavar="GROUP",
                        help="run only these groups (repeatable): " + ", ".join(GROUPS))
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    return parser


def _load_config(text: str) -> dict[str, Any]:
    if text.startswith("@"):
        with open(text[1:], encoding="utf-8") as handle:
            text = handle.read()
    config = json.loads(text)
    if not isinstance(config, dict):
        raise ValueError("--config must be a JSON object")
    return config


def _build_adapter(args: argparse.Namespace, config: dict[str, Any]) -> ClinicAdapter:
    if args.adapter:
        return get_adapter(args.adapter, config)
    module_name, _, attribute = args.adapter_class.partition(":")
    cls = getattr(importlib.import_module(module_name), attribute)
    if not (isinstance(cls, type) and issubclass(cls, ClinicAdapter)):
        raise TypeError(f"{args.adapter_class} is not a ClinicAdapter subclass")
    return cls(**config)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the kit as the command line says; print the report; return the exit code."""
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    groups = args.group or list(GROUPS)
    if args.list:
        for check in checks_in(groups):
            needs = f" [needs {', '.join(check.requires)}]" if check.requires else ""
            print(f"{check.id}{needs}: {check.doc}", file=out)
        return 0
    if not (args.adapter or args.adapter_class) or not args.clinic or not args.time_type:
        parser.error("--adapter (or --adapter-class), --clinic and --time-type are required")
    try:
        ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        parser.error(f"unknown time zone {args.timezone!r}")
    try:
        config = _load_config(args.config)
    except (OSError, ValueError) as exc:
        parser.error(f"--config: {exc}")

    name = args.adapter or args.adapter_class
    print(f"Clinic adapter conformance kit {KIT_VERSION} (contract {CONTRACT_VERSION})", file=out)
    try:
        adapter = _build_adapter(args, config)
    except Exception as exc:
        # The configuration may hold secrets: name the error class, not the config.
        print(f"FAIL setup — cannot build adapter {name!r}: {type(exc).__name__}: {exc}", file=out)
        print("FAILED: the adapter could not be built", file=out)
        return 1
    requirements = Requirements(adapter.capabilities, **dict.fromkeys(args.off, False))
    off = [flag for flag, on in requirements.as_dict().items() if not on]
    print(f"adapter {name} ({type(adapter).__name__}), clinic {args.clinic}, time type "
          f"{args.time_type}, zone {args.timezone}; switched off: {', '.join(off) or 'nothing'}",
          file=out)
    ctx = KitContext(
        adapter=adapter,
        clinic=ClinicRef(args.clinic, timezone=args.timezone),
        time_type_id=args.time_type,
        requirements=requirements,
        lead=timedelta(hours=args.lead_hours),
        horizon=timedelta(days=args.days),
        dst=args.dst_day,
    )

    def show(result: Any) -> None:
        print(result.line(), file=out, flush=True)

    report = run_kit(ctx, groups, on_result=show)
    print(report.summary(), file=out)
    return 0 if report.ok else 1
