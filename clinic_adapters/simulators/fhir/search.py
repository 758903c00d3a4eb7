"""The subset of FHIR R4 search the simulator understands: token, reference, date, one chain.

Matching is deliberately as literal as real servers: identifier values compare case-sensitively,
and parameters a resource type does not know are ignored (not refused), as the spec allows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

Resource = dict[str, Any]
Lookup = Callable[[str, str], Resource | None]


class BadSearch(ValueError):
    """A search parameter value the server cannot parse (answered with 400)."""


# A search tests every stored Slot (about 900 in a three-week simulator) against the same few
# texts: parsing each again dominated the simulator's CPU in bench/federated_search.py. The
# results are immutable (str, datetime), so caching them changes nothing but the cost.
_TEXT_CACHE = 8192


@functools.lru_cache(maxsize=_TEXT_CACHE)
def ref_key(reference: str) -> str:
    """Return ``Type/id`` of a relative or absolute reference (ignoring any ``_history`` part)."""
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else parts[-1]


@functools.lru_cache(maxsize=_TEXT_CACHE)
def parse_instant(value: str) -> datetime:
    """Parse a FHIR dateTime/instant with an offset; a naive time is an error here."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise BadSearch(f"date value without a time zone: {value!r}")
    return parsed.astimezone(UTC)


@functools.lru_cache(maxsize=_TEXT_CACHE)
def _date_range(value: str) -> tuple[datetime, datetime]:
    """Return the ``[low, high)`` an R4 date search value stands for (a day for a date)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            low = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return low, low + timedelta(days=1)
        instant = parse_instant(value)
    except ValueError as error:  # e.g. "+02:00" sent unencoded arrives as " 02:00"
        raise BadSearch(f"unparseable date: {value!r}") from error
    return instant, instant + timedelta(seconds=1)


def match_date(actual: str | None, query: str) -> bool:
    """Return whether an instant satisfies ``ge``/``gt``/``le``/``lt``/``eq``/``ne`` + value."""
    prefix, value = (query[:2], query[2:]) if query[:2].isalpha() else ("eq", query)
    low, high = _date_range(value)
    if prefix not in _DATE_TESTS:
        raise BadSearch(f"unknown date prefix {prefix!r}")
    return actual is not None and _DATE_TESTS[prefix](parse_instant(actual), low, high)


_DATE_TESTS: dict[str, Callable[[datetime, datetime, datetime], bool]] = {
    "eq": lambda t, low, high: low <= t < high,
    "ne": lambda t, low, high: not (low <= t < high),
    "ge": lambda t, low, high: t >= low,
    "gt": lambda t, low, high: t >= high,
    "lt": lambda t, low, high: t < low,
    "le": lambda t, low, high: t < high,
}


def start_bounds(
    params: list[tuple[str, str]], ignored: frozenset[str] = frozenset()
) -> tuple[datetime | None, datetime | None] | None:
    """Return ``[low, high)`` holding every start the ``start`` parameters allow, or None.

    Narrows a Slot search before each Slot is tested (the tests still run, so the bounds may be
    loose but never too tight). None when there is nothing to narrow by or a value is unusual
    (OR lists, odd prefixes, unparseable dates): the full scan then answers, errors included.
    """
    if "start" in ignored:
        return None
    low: datetime | None = None
    high: datetime | None = None
    for name, query in params:
        if name != "start":
            continue
        prefix, value = (query[:2], query[2:]) if query[:2].isalpha() else ("eq", query)
        if "," in query or prefix not in ("ge", "gt", "lt", "le", "eq"):
            return None
        try:
            first, after = _date_range(value)
        except BadSearch:
            return None
        lower = {"ge": first, "gt": after, "eq": first}.get(prefix)
        upper = {"lt": first, "le": after, "eq": after}.get(prefix)
        if lower is not None:
            low = lower if low is None else max(low, lower)
        if upper is not None:
            high = upper if high is None else min(high, upper)
    return None if low is None and high is None else (low, high)


def _codings(value: Any) -> list[tuple[str | None, str | None]]:
    """The (system, code) pairs of a code, Coding, CodeableConcept, Identifier or a list of them.

    A list, not a generator: every Slot of a search is tested, and generators were most of it."""
    if value is None:
        return []
    if isinstance(value, list):
        return [pair for item in value for pair in _codings(item)]
    if isinstance(value, str):
        return [(None, value)]
    if "coding" in value:
        return _codings(value["coding"])
    if "value" in value:  # Identifier
        return [(value.get("system"), value.get("value"))]
    return [(value.get("system"), value.get("code"))]


def match_token(actual: Any, query: str) -> bool:
    """Return whether any coding/identifier matches ``system|code``, ``|code`` or ``code``."""
    if isinstance(actual, str):  # a plain code (a status): no system
        if "|" not in query:
            return actual == query
        system, code = query.split("|", 1)
        return system == "" and code in ("", actual)
    if "|" in query:
        system, code = query.split("|", 1)
        for s, c in _codings(actual):
            if (s == system or (system == "" and s is None)) and (c == code or code == ""):
                return True
        return False
    return query in [c for _, c in _codings(actual)]


def match_reference(references: Iterable[str], query: str) -> bool:
    """Return whether one of the references points at ``Type/id`` (or a bare id)."""
    wanted = ref_key(query)
    for reference in references:
        key = ref_key(reference)
        if key == wanted or ("/" not in wanted and key.split("/")[-1] == wanted):
            return True
    return False


def _refs(*values: Any) -> list[str]:
    """Collect ``reference`` strings from Reference objects or lists of them."""
    found: list[str] = []
    for value in values:
        items = value if isinstance(value, list) else [value]
        found.extend(item["reference"] for item in items if isinstance(item, dict) and "reference" in item)
    return found


def _participants(resource: Resource, resource_type: str | None = None) -> list[str]:
    refs = _refs([p.get("actor") for p in resource.get("participant", []) if p.get("actor")])
    return [r for r in refs if resource_type is None or ref_key(r).startswith(resource_type + "/")]


# name -> matcher(resource, value, lookup); one table per resource type.
Matcher = Callable[[Resource, str, Lookup], bool]

_COMMON: dict[str, Matcher] = {"_id": lambda r, v, _: r["id"] == v}

PARAMS: dict[str, dict[str, Matcher]] = {
    "Organization": {"identifier": lambda r, v, _: match_token(r.get("identifier"), v)},
    "HealthcareService": {
        "identifier": lambda r, v, _: match_token(r.get("identifier"), v),
        "organization": lambda r, v, _: match_reference(_refs(r.get("providedBy")), v),
        "service-type": lambda r, v, _: match_token(r.get("type"), v),
    },
    "Practitioner": {"identifier": lambda r, v, _: match_token(r.get("identifier"), v)},
    "PractitionerRole": {
        "service": lambda r, v, _: match_reference(_refs(r.get("healthcareService", [])), v),
        "practitioner": lambda r, v, _: match_reference(_refs(r.get("practitioner")), v),
    },
    "Schedule": {
        "actor": lambda r, v, _: match_reference(_refs(r.get("actor", [])), v),
        "active": lambda r, v, _: str(r.get("active", True)).lower() == v.lower(),
        "service-type": lambda r, v, _: match_token(r.get("serviceType"), v),
    },
    "Slot": {
        "schedule": lambda r, v, _: match_reference(_refs(r.get("schedule")), v),
        "status": lambda r, v, _: match_token(r.get("status"), v),
        "start": lambda r, v, _: match_date(r.get("start"), v),
        "service-type": lambda r, v, _: match_token(r.get("serviceType"), v),
        "schedule.actor": lambda r, v, lookup: _slot_schedule_actor(r, v, lookup),
    },
    "Appointment": {
        "patient": lambda r, v, _: match_reference(_participants(r, "Patient"), v),
        "actor": lambda r, v, _: match_reference(_participants(r), v),
        "slot": lambda r, v, _: match_reference(_refs(r.get("slot", [])), v),
        "status": lambda r, v, _: match_token(r.get("status"), v),
        "date": lambda r, v, _: match_date(r.get("start"), v),
        "identifier": lambda r, v, _: match_token(r.get("identifier"), v),
    },
    "Patient": {"identifier": lambda r, v, _: match_token(r.get("identifier"), v)},
}


def _slot_schedule_actor(slot: Resource, value: str, lookup: Lookup) -> bool:
    schedule_ref = slot.get("schedule", {}).get("reference")
    if not schedule_ref:
        return False
    schedule = lookup("Schedule", ref_key(schedule_ref).split("/")[-1])
    return schedule is not None and match_reference(_refs(schedule.get("actor", [])), value)


# Tests run cheapest and most selective first: a date range leaves few of a server's Slots, so
# the chained lookup (schedule.actor) runs only for those. All must hold, so order is free.
_COST = {"start": 0, "date": 0, "_id": 0, "status": 1, "schedule.actor": 3}


def compile_query(
    resource_type: str, params: list[tuple[str, str]], ignored: frozenset[str] = frozenset()
) -> Callable[[Resource, Lookup], bool]:
    """Return a test of one resource against every known parameter (commas inside one are OR).

    Built once per search rather than once per stored resource.
    """
    table = {**_COMMON, **PARAMS.get(resource_type, {})}
    tests: list[tuple[Matcher, list[str]]] = []
    for name, value in sorted(params, key=lambda pair: _COST.get(pair[0], 2)):
        matcher = table.get(name)
        if matcher is None or name in ignored or (name.startswith("_") and name != "_id"):
            continue  # unknown and result parameters are ignored, as real servers do
        if (resource_type, name) == ("Slot", "schedule.actor"):
            matcher = _per_schedule(matcher)
        tests.append((matcher, value.split(",")))

    # Most values are single (no OR): those are called directly, without a generator per test,
    # which was most of the simulator's CPU per Slot in bench/federated_search.py.
    single = [(matcher, parts[0]) for matcher, parts in tests if len(parts) == 1]
    either = [(matcher, parts) for matcher, parts in tests if len(parts) > 1]

    def test(resource: Resource, lookup: Lookup) -> bool:
        for matcher, value in single:
            if not matcher(resource, value, lookup):
                return False
        return all(any(matcher(resource, part, lookup) for part in parts) for matcher, parts in either)

    return test


def _per_schedule(matcher: Matcher) -> Matcher:
    """A Slot's chained Schedule test, answered once per Schedule and value within one search.

    A search runs under the store's lock, so no Schedule changes while it tests the Slots; the
    Slots of a clinic's few Schedules then cost one lookup each, not one per Slot.
    """
    known: dict[tuple[Any, str], bool] = {}

    def test(resource: Resource, value: str, lookup: Lookup) -> bool:
        key = ((resource.get("schedule") or {}).get("reference"), value)
        if key not in known:
            known[key] = matcher(resource, value, lookup)
        return known[key]

    return test


def matches(
    resource_type: str,
    resource: Resource,
    params: list[tuple[str, str]],
    lookup: Lookup,
    ignored: frozenset[str] = frozenset(),
) -> bool:
    """Return whether a resource satisfies every known parameter (commas inside one are OR)."""
    return compile_query(resource_type, params, ignored)(resource, lookup)
