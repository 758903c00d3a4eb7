"""The layout stays honest: nothing but the tests imports ``hub``; the calendar imports only the contract."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module))
    return found


@pytest.mark.parametrize("package", ["clinic_adapters", "identity", "terms", "standalone_calendar"])
def test_no_package_imports_hub(package: str) -> None:
    offenders = {(f, m) for f, m in _imports(package) if m == "hub" or m.startswith("hub.")}
    assert offenders == set()


@pytest.mark.parametrize("package", ["clinic_adapters", "identity", "terms"])
def test_leaf_packages_import_nothing_of_ours(package: str) -> None:
    ours = ("hub", "identity", "terms", "standalone_calendar", "clinic_adapters")
    offenders = {
        (f, m) for f, m in _imports(package) if m.split(".")[0] in ours and m.split(".")[0] != package
    }
    assert offenders == set()


def test_standalone_calendar_uses_only_the_adapter_contract() -> None:
    allowed = {
        "clinic_adapters",
        "clinic_adapters.timezones",
        "clinic_adapters.contract",
        "clinic_adapters.errors",
    }
    used = {m for _, m in _imports("standalone_calendar") if m.startswith("clinic_adapters")}
    assert used <= allowed
