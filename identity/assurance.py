"""Levels of assurance: the URIs identity providers send, ranked on the eIDAS scale.

SAML's RequestedAuthnContext and OIDC's ``acr`` match exact strings only, with no "this level or
higher", so we request every acceptable URI and rank what comes back ourselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class Level(IntEnum):
    """eIDAS levels; higher is stronger."""

    LOW = 1
    SUBSTANTIAL = 2
    HIGH = 3


# Sweden Connect (Swedish e-ID framework, "elegnamnden").
LOA2 = "http://id.elegnamnden.se/loa/1.0/loa2"
LOA3 = "http://id.elegnamnden.se/loa/1.0/loa3"
LOA4 = "http://id.elegnamnden.se/loa/1.0/loa4"
SC_EIDAS_LOW = "http://id.elegnamnden.se/loa/1.0/eidas-low"
SC_EIDAS_SUBSTANTIAL = "http://id.elegnamnden.se/loa/1.0/eidas-sub"
SC_EIDAS_HIGH = "http://id.elegnamnden.se/loa/1.0/eidas-high"
SC_EIDAS_NF_SUBSTANTIAL = "http://id.elegnamnden.se/loa/1.0/eidas-nf-sub"
SC_EIDAS_NF_HIGH = "http://id.elegnamnden.se/loa/1.0/eidas-nf-high"
# eIDAS itself.
EIDAS_LOW = "http://eidas.europa.eu/LoA/low"
EIDAS_SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
EIDAS_HIGH = "http://eidas.europa.eu/LoA/high"
# ID-porten (Norway), current and legacy acr values.
IDPORTEN_SUBSTANTIAL = "idporten-loa-substantial"
IDPORTEN_HIGH = "idporten-loa-high"
IDPORTEN_LEVEL3 = "Level3"
IDPORTEN_LEVEL4 = "Level4"

# Unknown URIs rank as nothing: a provider's private value never passes by accident.
LEVELS: dict[str, Level] = {
    LOA2: Level.LOW,
    LOA3: Level.SUBSTANTIAL,
    LOA4: Level.HIGH,
    SC_EIDAS_LOW: Level.LOW,
    SC_EIDAS_SUBSTANTIAL: Level.SUBSTANTIAL,
    SC_EIDAS_HIGH: Level.HIGH,
    SC_EIDAS_NF_SUBSTANTIAL: Level.SUBSTANTIAL,
    SC_EIDAS_NF_HIGH: Level.HIGH,
    EIDAS_LOW: Level.LOW,
    EIDAS_SUBSTANTIAL: Level.SUBSTANTIAL,
    EIDAS_HIGH: Level.HIGH,
    IDPORTEN_SUBSTANTIAL: Level.SUBSTANTIAL,
    IDPORTEN_HIGH: Level.HIGH,
    IDPORTEN_LEVEL3: Level.SUBSTANTIAL,
    IDPORTEN_LEVEL4: Level.HIGH,
}

SAML_URIS = tuple(uri for uri in LEVELS if uri.startswith("http"))


def level_of(uri: str | None) -> Level | None:
    """Return the level a URI stands for, or None when unknown."""
    return LEVELS.get(uri or "")


def minimum_level(minimum: str | Level) -> Level:
    """Turn a configured minimum (a URI or a Level) into a Level."""
    if isinstance(minimum, Level):
        return minimum
    level = level_of(minimum)
    if level is None:
        raise ValueError(f"unknown level of assurance: {minimum!r}")
    return level


def acceptable(minimum: str | Level, candidates: Iterable[str] = SAML_URIS) -> list[str]:
    """Return the candidate URIs at or above ``minimum``, strongest first."""
    floor = minimum_level(minimum)
    chosen = [uri for uri in candidates if (level_of(uri) or 0) >= floor]
    return sorted(chosen, key=lambda uri: -(level_of(uri) or 0))


def best(uris: Iterable[str]) -> tuple[str, Level] | None:
    """Return the strongest known URI among ``uris`` with its level, or None."""
    ranked = [(uri, level) for uri in uris if (level := level_of(uri)) is not None]
    if not ranked:
        return None
    return max(ranked, key=lambda pair: pair[1])


def meets(uri: str | None, minimum: str | Level) -> bool:
    """Tell whether ``uri`` is at least ``minimum``."""
    level = level_of(uri)
    return level is not None and level >= minimum_level(minimum)
