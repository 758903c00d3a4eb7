"""Signals sent inside the booking's transaction, so listeners (notifications, caches) write
their rows in the same commit as the change that caused them."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: ``send(app, db=Session, booking=Booking, change="created"|"rebooked"|"cancelled"|"conflict")``
booking_changed = _signals.signal("booking-changed")
