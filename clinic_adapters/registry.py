"""Find an adapter class by its stable key: built-ins by dotted path, others by entry point."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from clinic_adapters.contract import ClinicAdapter
from clinic_adapters.errors import NotSupported

ENTRY_POINT_GROUP = "hub.clinic_adapters"

# Dotted paths keep this package free of imports of its implementations.
BUILTIN_ADAPTERS: dict[str, str] = {
    "standalone": "standalone_calendar.adapter:StandaloneCalendarAdapter",
    "riv-crm-scheduling": "clinic_adapters.soap.adapter:RivSchedulingAdapter",
    "fhir-r4": "clinic_adapters.fhir.adapter:FhirR4Adapter",
}


def _load(target: str) -> type[ClinicAdapter]:
    module_name, _, attribute = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attribute)
    if not (isinstance(cls, type) and issubclass(cls, ClinicAdapter)):
        raise TypeError(f"{target} is not a ClinicAdapter")
    return cls


def adapter_class(key: str) -> type[ClinicAdapter]:
    """Return the adapter class registered under ``key``."""
    if key in BUILTIN_ADAPTERS:
        return _load(BUILTIN_ADAPTERS[key])
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == key:
            return _load(entry.value)
    raise NotSupported(f"no adapter registered under {key!r}")


def get_adapter(key: str, config: dict[str, Any] | None = None, **dependencies: Any) -> ClinicAdapter:
    """Build the adapter registered under ``key`` from its per-connection configuration."""
    return adapter_class(key)(**(config or {}), **dependencies)
