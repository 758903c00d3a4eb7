"""A question asked again is sent as zeep built it the first time, and only that same question."""

from __future__ import annotations

from datetime import timedelta

from riv_soap_helpers import PRIMARY

from clinic_adapters.soap.envelopes import EnvelopeCache
from clinic_adapters.timezones import local_day_bounds_utc, to_local, utc_now


def _sent(sim, operation: str) -> list[bytes]:
    return [e.request for e in sim.app.exchanges if e.operation == operation]


def _day(offset: int) -> tuple:
    today = to_local(utc_now(), PRIMARY.timezone).date()
    return local_day_bounds_utc(today + timedelta(days=offset), PRIMARY.timezone)


def test_a_repeated_question_is_sent_as_zeep_builds_it(adapter, sim, monkeypatch) -> None:
    first = adapter.available_slots(PRIMARY, "LAK30", *_day(2))
    again = adapter.available_slots(PRIMARY, "LAK30", *_day(2))
    monkeypatch.setattr(EnvelopeCache, "reusable", staticmethod(lambda service, operation: False))
    built_anew = adapter.available_slots(PRIMARY, "LAK30", *_day(2))
    sent = _sent(sim, "GetAvailableTimeslots")
    assert first and first == again == built_anew
    assert len(sent) == 3 and sent[0] == sent[1] == sent[2]


def test_another_question_is_never_answered_with_a_kept_envelope(adapter, sim) -> None:
    near = adapter.available_slots(PRIMARY, "LAK30", *_day(2))
    later_start, later_end = _day(3)
    later = adapter.available_slots(PRIMARY, "LAK30", later_start, later_end)
    near_again = adapter.available_slots(PRIMARY, "LAK30", *_day(2))
    assert near and later and near == near_again
    assert all(later_start <= slot.start < later_end for slot in later)
    sent = _sent(sim, "GetAvailableTimeslots")
    assert sent[0] != sent[1] and sent[0] == sent[2]


def test_arguments_zeep_would_write_differently_are_different_questions() -> None:
    from clinic_adapters.soap.envelopes import _frozen

    assert _frozen({"flag": True}) != _frozen({"flag": 1})
    assert _frozen({"performer": ["P1"]}) != _frozen({"performer": "P1"})
    assert _frozen({"a": 1, "performer": ["P1"]}) == _frozen({"performer": ("P1",), "a": 1})
