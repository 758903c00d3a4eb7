"""Sessions' last-seen times, written behind the requests in batches.

Refreshing ``last_seen_at`` inside a request's transaction costs the request an UPDATE, and a
request answered with a refusal rolls it back, so that activity did not count towards the idle
time-out. Here a request only notes the time; a timer writes every noted time a few seconds later,
in one short transaction of its own. Until then, :func:`identity.sessions.load` in this process
reads the noted time, so the idle time-out counts from it at once; other processes read it once
written. If the process dies first, at most ``delay`` seconds of activity are lost: a session can
then end that much earlier, never later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from identity.models import IdentitySession

log = logging.getLogger(__name__)

_table = IdentitySession.__table__
# One statement for the many sessions seen within the same second, with that second: at most a
# second earlier than each session's own time, which can only end a session that much sooner.
# Never moves a time back (another process may have written a later one).
_WRITE = (
    update(_table)
    .where(
        _table.c.id.in_(bindparam("session_ids", expanding=True)), _table.c.last_seen_at < bindparam("seen")
    )
    .values(last_seen_at=bindparam("seen"))
)
_IDS_PER_STATEMENT = 500


class LastSeenWriter:
    def __init__(
        self, open_session: Callable[[], AbstractContextManager[Session]], delay: float = 5.0
    ) -> None:
        """``open_session()``: a session of its own, committed when the block ends."""
        self._open_session = open_session
        self._delay = delay
        self._noted: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def note(self, session_id: str, seen: datetime) -> None:
        with self._lock:
            earlier = self._noted.get(session_id)
            self._noted[session_id] = seen if earlier is None else max(earlier, seen)
            if self._timer is None:
                self._timer = threading.Timer(self._delay, self.write)
                self._timer.daemon = True
                self._timer.start()

    def noted(self, session_id: str) -> datetime | None:
        """The latest time noted for a session and not yet written."""
        return self._noted.get(session_id)

    def write(self) -> int:
        """Write every noted time now; return how many sessions were written."""
        with self._lock:
            batch = dict(self._noted)
            if self._timer is not None:
                self._timer.cancel()  # a no-op when the timer itself is running this
                self._timer = None
        if not batch:
            return 0
        by_second: dict[datetime, list[str]] = {}
        for session_id, seen in batch.items():
            by_second.setdefault(seen.replace(microsecond=0), []).append(session_id)
        try:
            with self._open_session() as db:
                for seen, ids in sorted(by_second.items()):
                    for start in range(0, len(ids), _IDS_PER_STATEMENT):
                        chunk = sorted(ids[start : start + _IDS_PER_STATEMENT])
                        db.execute(_WRITE, {"session_ids": chunk, "seen": seen})
        except Exception:
            # Kept noted: the next request's note starts a timer that tries again.
            log.warning("could not write the last-seen times of %d sessions", len(batch), exc_info=True)
            return 0
        with self._lock:
            for session_id, seen in batch.items():
                if self._noted.get(session_id) == seen:  # not noted again meanwhile
                    del self._noted[session_id]
        return len(batch)
