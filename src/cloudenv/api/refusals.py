"""Anonymous refusals, counted in memory and written to the audit trail as one summary row
per source address, action and status per interval (at most MAX_KEYS + 1 rows: past
MAX_KEYS keys, the rest are summed in one overflow row).

A caller without credentials costs the node nothing but a counter increment: one audit
row per refused anonymous request would let anyone fill the database and hold the event
loop with writes (500 rows in 5 s were seen). Signed-in callers' refusals are still
audited one row each by ``api/errors.py``; failed sign-ins are audited by the sign-in
service, which knows the account tried. Must not touch the database except in
:meth:`RefusalCounter.flush`, which the app's lifespan calls off the event loop.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from cloudenv import clock
from cloudenv.services import audit
from cloudenv.store.engine import transaction

log = logging.getLogger(__name__)

#: Distinct (address, action, status) keys kept between flushes; past it, every refusal
#: without a key yet joins the one overflow key (OTHER_SOURCES, OTHER_ACTIONS), whatever
#: its address, action and status, so neither memory nor the rows a flush writes grow with
#: what a flood sends.
MAX_KEYS = 1024
OTHER_SOURCES = "other addresses"
OTHER_ACTIONS = "other requests"
#: The action of a request no route serves: its path is the caller's choice, so it is
#: never part of a key.
UNROUTED = "unrouted"
FLUSH_SECONDS = 60.0


@dataclass
class _Tally:
    count: int
    first: datetime
    last: datetime
    sample: str
    #: Refusals per status; more than one only in the overflow tally (at most the few
    #: hundred HTTP error statuses).
    statuses: dict[int, int]


@dataclass(frozen=True)
class RefusalSummary:
    """What one summary audit row says."""

    source_address: str | None
    action: str
    #: The most frequent status (the only one, except in the overflow summary).
    status: int
    count: int
    first: datetime
    last: datetime
    sample: str
    statuses: tuple[tuple[int, int], ...] = ()

    @property
    def message(self) -> str:
        refused = str(self.status)
        if len(self.statuses) > 1:
            refused = ", ".join(f"{status} ({n})" for status, n in self.statuses)
        return (
            f"{self.count} anonymous request(s) refused with {refused} between "
            f"{clock.rfc3339(self.first)} and {clock.rfc3339(self.last)}; "
            f"e.g. {self.sample}"
        )


class RefusalCounter:
    """Thread-safe tallies of refused anonymous requests since the last flush."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self._lock = threading.Lock()
        self._tallies: dict[tuple[str | None, str, int | None], _Tally] = {}
        self._max_keys = max_keys

    def __len__(self) -> int:
        """Keys held now: at most ``max_keys`` plus the overflow key."""
        with self._lock:
            return len(self._tallies)

    def count(self, source_address: str | None, action: str, status: int, message: str) -> None:
        """Note one refusal; never blocks on I/O."""
        now = clock.now()
        with self._lock:
            key: tuple[str | None, str, int | None] = (source_address, action, status)
            if key not in self._tallies and len(self._tallies) >= self._max_keys:
                key = (OTHER_SOURCES, OTHER_ACTIONS, None)
            tally = self._tallies.get(key)
            if tally is None:
                self._tallies[key] = _Tally(1, now, now, message, {status: 1})
            else:
                tally.count += 1
                tally.last = now
                tally.statuses[status] = tally.statuses.get(status, 0) + 1

    def drain(self) -> list[RefusalSummary]:
        """The tallies since the last drain, which start again from zero."""
        with self._lock:
            tallies, self._tallies = self._tallies, {}
        summaries = []
        for (address, action, _), t in tallies.items():
            statuses = tuple(sorted(t.statuses.items(), key=lambda s: (-s[1], s[0])))
            summaries.append(
                RefusalSummary(
                    address, action, statuses[0][0], t.count, t.first, t.last, t.sample, statuses
                )
            )
        return summaries

    def flush(self, factory: sessionmaker[Session]) -> int:
        """Write one audit row per tally in one transaction; returns the rows written."""
        summaries = self.drain()
        if not summaries:
            return 0
        try:
            with transaction(factory) as db:
                for s in summaries:
                    audit.record(
                        db,
                        None,
                        s.action,
                        target_id=None,
                        outcome="failure",
                        status_code=s.status,
                        message=s.message,
                        source_address=s.source_address,
                    )
        except Exception:  # the next interval starts afresh; the log keeps the loss
            log.exception("could not record %d anonymous refusal summaries", len(summaries))
            return 0
        return len(summaries)
