"""Levels of assurance: ranking, minimum, the URIs requested."""

from __future__ import annotations

import pytest

from identity import assurance
from identity.assurance import Level


def test_levels_rank_sweden_connect_eidas_and_id_porten_uris():
    assert assurance.level_of(assurance.LOA3) is Level.SUBSTANTIAL
    assert assurance.level_of(assurance.LOA4) is Level.HIGH
    assert assurance.level_of(assurance.EIDAS_SUBSTANTIAL) is Level.SUBSTANTIAL
    assert assurance.level_of(assurance.SC_EIDAS_HIGH) is Level.HIGH
    assert assurance.level_of("idporten-loa-high") is Level.HIGH
    assert assurance.level_of("urn:private:loa9") is None


def test_meets_is_at_least_the_minimum():
    assert assurance.meets(assurance.LOA4, assurance.LOA3)
    assert assurance.meets(assurance.EIDAS_SUBSTANTIAL, assurance.LOA3)
    assert not assurance.meets(assurance.LOA2, assurance.LOA3)
    assert not assurance.meets(None, assurance.LOA3)
    assert not assurance.meets("urn:private:loa9", Level.LOW)


def test_acceptable_lists_every_uri_at_or_above_the_minimum_strongest_first():
    uris = assurance.acceptable(assurance.LOA3)
    assert assurance.LOA2 not in uris and assurance.EIDAS_LOW not in uris
    assert {assurance.LOA3, assurance.LOA4, assurance.EIDAS_SUBSTANTIAL, assurance.EIDAS_HIGH} <= set(uris)
    assert assurance.level_of(uris[0]) is Level.HIGH
    assert assurance.acceptable(Level.HIGH, ["x", assurance.LOA3, assurance.LOA4]) == [assurance.LOA4]


def test_best_picks_the_strongest_known():
    assert assurance.best([assurance.LOA3, "urn:x", assurance.LOA4]) == (assurance.LOA4, Level.HIGH)
    assert assurance.best(["urn:x"]) is None


def test_unknown_minimum_is_a_configuration_error():
    with pytest.raises(ValueError):
        assurance.minimum_level("http://example.org/loa/5")
