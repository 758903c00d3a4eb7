"""Optional pytest plugin: ``pytest -p clinic_adapters.testing.plugin`` prints the kit's summary."""

from __future__ import annotations

from typing import Any

from clinic_adapters.testing.runner import KitReport, Verdict
from clinic_adapters.testing.suite import results_key


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Print the kit's version, its skipped checks and why, and the pass/fail counts."""
    results = config.stash.get(results_key, [])
    if not results:
        return
    report = KitReport(results=list(results))
    terminalreporter.section("clinic adapter conformance kit")
    for result in report.results:
        if result.verdict is not Verdict.PASS:
            terminalreporter.write_line(result.line())
    terminalreporter.write_line(report.summary())
