"""Run checks and report: one line per check (PASS / FAIL / SKIP with the reason) and a summary."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from clinic_adapters.contract import CONTRACT_VERSION
from clinic_adapters.errors import AdapterError
from clinic_adapters.testing.checks import Check, checks_in
from clinic_adapters.testing.context import CheckFailed, CheckSkipped, KitContext
from clinic_adapters.testing.version import KIT_VERSION

__all__ = ["CheckResult", "KitReport", "Verdict", "run_check", "run_kit"]


class Verdict(enum.StrEnum):
    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check; ``reason`` is empty for a pass."""

    check: str
    verdict: Verdict
    reason: str = ""
    seconds: float = 0.0

    def line(self) -> str:
        """Return the report line, e.g. ``FAIL booking.x — reason``."""
        return f"{self.verdict.value} {self.check}" + (f" — {self.reason}" if self.reason else "")


@dataclass
class KitReport:
    """All results of a run, with the kit and contract versions they were checked against."""

    results: list[CheckResult] = field(default_factory=list)
    kit_version: str = KIT_VERSION
    contract_version: str = CONTRACT_VERSION

    def count(self, verdict: Verdict) -> int:
        """Return how many checks ended with ``verdict``."""
        return sum(1 for r in self.results if r.verdict is verdict)

    @property
    def ok(self) -> bool:
        """True when no check failed (skips do not fail a run)."""
        return self.count(Verdict.FAIL) == 0

    @property
    def skipped(self) -> list[CheckResult]:
        """The skipped checks and why: what this run did *not* prove."""
        return [r for r in self.results if r.verdict is Verdict.SKIP]

    def summary(self) -> str:
        """Return the summary line."""
        return (f"{'PASSED' if self.ok else 'FAILED'}: {self.count(Verdict.PASS)} passed, "
                f"{self.count(Verdict.FAIL)} failed, {self.count(Verdict.SKIP)} skipped "
                f"(conformance kit {self.kit_version}, contract {self.contract_version})")

    def render(self) -> str:
        """Return the whole report as text: one line per check, then the summary."""
        return "\n".join([*(r.line() for r in self.results), self.summary()])


def run_check(check: Check, ctx: KitContext) -> CheckResult:
    """Run one check against ``ctx`` and clean up what it booked; never raises for a failure."""
    started = time.monotonic()
    skip = ctx.reqs.unmet(check.requires)
    if skip:
        return CheckResult(check.id, Verdict.SKIP, skip)
    ctx.operation = ""
    try:
        check.run(ctx)
    except CheckSkipped as exc:
        result = CheckResult(check.id, Verdict.SKIP, str(exc))
    except CheckFailed as exc:
        result = CheckResult(check.id, Verdict.FAIL, str(exc))
    except AdapterError as exc:
        during = f" during {ctx.operation}" if ctx.operation else ""
        result = CheckResult(check.id, Verdict.FAIL,
                             f"unexpected {type(exc).__name__}{during}: {exc}")
    except Exception as exc:
        result = CheckResult(check.id, Verdict.FAIL, f"kit or adapter error {type(exc).__name__}: {exc}")
    else:
        result = CheckResult(check.id, Verdict.PASS)
    finally:
        ctx.cleanup()
    return CheckResult(result.check, result.verdict, result.reason, time.monotonic() - started)


def run_kit(ctx: KitContext, groups: Iterable[str] | None = None,
            on_result: Callable[[CheckResult], None] | None = None) -> KitReport:
    """Run every check (of ``groups``) in order and return the report.

    ``on_result`` sees each result as soon as it is known (the CLI prints it at once).
    """
    report = KitReport()
    for check in checks_in(groups):
        result = run_check(check, ctx)
        report.results.append(result)
        if on_result is not None:
            on_result(result)
    return report
