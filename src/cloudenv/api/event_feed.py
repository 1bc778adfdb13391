"""One event poller per process, fanned out in memory to every open event stream.

Each ``GET /api/v1/events`` stream subscribes here instead of polling the database itself:
the feed's thread reads new events once per poll, for all streams, and queues each event on
the event loop of every stream whose caller may see it. Before it hands out new events, and every
few seconds when idle, it re-checks all streams' sessions in one query and ends the streams
whose session was logged out or expired or whose user was disabled. A
user may hold ``STREAMS_PER_USER`` streams per process at once.

The feed belongs to an app (``feed_for``), its thread runs while a stream is subscribed.
It holds no rule about who sees what: ``services.event_visibility`` decides, per event,
from the caller's scope and policies (what reading each event takes is worked out once
per batch, not per stream).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import State

from cloudenv.errors import TooManyRequests
from cloudenv.services import auth, event_visibility, events
from cloudenv.services.access import Principal
from cloudenv.services.event_visibility import Gate
from cloudenv.services.events import EventView
from cloudenv.store.engine import transaction

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
RECHECK_SECONDS = 3.0
STREAMS_PER_USER = 8
# A stream this far behind is ended; its client resumes from its last event ID.
QUEUE_LIMIT = 2000
# IDs skipped by the poller (a transaction still open, or rolled back) are asked for again
# for this long, at most this many: a late commit still reaches the streams.
GAP_SECONDS = 30.0
GAP_LIMIT = 1000
# A reserved stream whose response never started (its client left first) is dropped.
UNCLAIMED_SECONDS = 30.0


@dataclass(frozen=True)
class StreamEnded:
    """Queued last to a stream the feed ends, with the reason told to the client."""

    reason: str


@dataclass(eq=False)
class Subscription:
    """One open stream: who it is for, with which token, and its queue on its own loop.

    ``queued`` is written by the feed's thread only and ``taken`` by the stream only, so
    their difference (the backlog) needs no lock.
    """

    principal: Principal
    token: str
    loop: asyncio.AbstractEventLoop
    since: float = field(default_factory=time.monotonic)
    active: bool = False
    queued: int = 0
    taken: int = 0
    queue: asyncio.Queue[EventView | StreamEnded] = field(default_factory=asyncio.Queue)

    async def next(self) -> EventView | StreamEnded:
        item = await self.queue.get()
        self.taken += 1
        return item

    def _finish(self, reason: str) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(StreamEnded(reason))


class EventFeed:
    """The shared poller of one app in one process."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()
        self._thread: threading.Thread | None = None
        self._high = 0  # the newest global event ID already handed out
        self._gaps: dict[int, float] = {}  # IDs below _high not seen yet -> when noticed
        self._checked = 0.0

    def reserve(
        self, loop: asyncio.AbstractEventLoop, principal: Principal, token: str
    ) -> Subscription:
        """Count a new stream read on ``loop`` against its user's limit, before the reply
        starts; it gets events once ``activate`` runs. Never touches the database, so a
        request holding a pooled connection never waits here.

        Raises TooManyRequests when the user already holds ``STREAMS_PER_USER`` streams.
        """
        subscription = Subscription(principal, token, loop)
        with self._lock:
            stale = time.monotonic() - UNCLAIMED_SECONDS
            for other in [s for s in self._subscriptions if not s.active and s.since < stale]:
                self._subscriptions.discard(other)
            self._check_limit(principal)
            self._subscriptions.add(subscription)
        return subscription

    def activate(self, subscription: Subscription) -> int:
        """Start handing events to a reserved stream; events after the returned global ID
        reach its queue. Reads the database when it starts the poller: call it off the loop.
        """
        newest: int | None = None
        while True:
            with self._lock:
                if self._thread is None and newest is not None:
                    self._start(newest)
                if self._thread is not None:
                    subscription.active = True
                    self._subscriptions.add(subscription)
                    return self._high
            # Never wait on the database while holding the lock.
            newest = self._newest()

    def _start(self, newest: int) -> None:
        self._high, self._checked = newest, time.monotonic()
        self._thread = threading.Thread(target=self._run, name="cloudenv-event-feed", daemon=True)
        self._thread.start()

    def _check_limit(self, principal: Principal) -> None:
        if principal.user_id is not None and self.count(principal.user_id) >= STREAMS_PER_USER:
            raise TooManyRequests(
                f"{principal.username} already has {STREAMS_PER_USER} event streams open on "
                "this node, the most a user may hold; close one (a browser tab or a waiting "
                "'cloudenv' command) and try again."
            )

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    def count(self, user_id: str | None = None) -> int:
        """Open streams, of one user or of everyone."""
        return sum(1 for s in self._subscriptions if user_id in (None, s.principal.user_id))

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._subscriptions:
                    self._thread = None
                    self._gaps.clear()
                    return
                after = self._high
            try:
                self._poll_once(after, self._open_gaps())
            except Exception:
                log.exception("the event feed failed; ending its streams so clients reconnect")
                with self._lock:
                    for subscription in list(self._subscriptions):
                        self._end(subscription, "the node's event feed failed; reconnect")
            time.sleep(POLL_SECONDS)

    def _open_gaps(self) -> list[int]:
        expired = time.monotonic() - GAP_SECONDS
        for gap in [g for g, noticed in self._gaps.items() if noticed < expired]:
            del self._gaps[gap]
        return list(self._gaps)

    def _note_gaps(self, event_id: int) -> None:
        """IDs between the last one handed out and ``event_id`` may still commit."""
        now = time.monotonic()
        for gap in range(max(self._high + 1, event_id - GAP_LIMIT), event_id):
            if len(self._gaps) >= GAP_LIMIT:
                break
            self._gaps[gap] = now

    def _poll_once(self, after: int, gaps: list[int]) -> None:
        batch, gates = self._read(after, gaps)
        # Sessions are checked before anything is sent, and every few seconds when idle.
        if batch or time.monotonic() - self._checked >= RECHECK_SECONDS:
            self._recheck_sessions()
        with self._lock:
            for event in batch:
                if self._gaps.pop(event.id, None) is None:
                    self._note_gaps(event.id)
                    self._high = max(self._high, event.id)
                gate = gates[event.id]
                for subscription in list(self._subscriptions):
                    if subscription.active and event_visibility.may_see(
                        subscription.principal, event, gate
                    ):
                        self._deliver(subscription, event)

    def _deliver(self, subscription: Subscription, event: EventView) -> None:
        if subscription.queued - subscription.taken >= QUEUE_LIMIT:
            self._end(subscription, "this stream fell behind; reconnect with Last-Event-ID")
            return
        subscription.queued += 1
        self._call(subscription, subscription.queue.put_nowait, event)

    def _end(self, subscription: Subscription, reason: str) -> None:
        """Drop the stream and tell it to finish (caller holds the lock)."""
        self._subscriptions.discard(subscription)
        self._call(subscription, subscription._finish, reason)

    def _call(
        self, subscription: Subscription, function: Callable[[Any], None], argument: Any
    ) -> None:
        try:
            subscription.loop.call_soon_threadsafe(function, argument)
        except RuntimeError:  # its loop is closed: nobody reads this stream any more
            self._subscriptions.discard(subscription)

    def _recheck_sessions(self) -> None:
        """End the streams whose session no longer authenticates; refresh the others'
        principal (a changed user streams as what they are now)."""
        now = self._checked = time.monotonic()
        with self._lock:
            for subscription in list(self._subscriptions):
                if not subscription.active and now - subscription.since > UNCLAIMED_SECONDS:
                    self._subscriptions.discard(subscription)
            tokens = {s.token for s in self._subscriptions}
        verdicts = self._authenticate_all(tokens)
        with self._lock:
            for subscription in list(self._subscriptions):
                verdict = verdicts.get(subscription.token)
                if isinstance(verdict, Principal):
                    subscription.principal = verdict
                elif subscription.token in verdicts:
                    self._end(subscription, verdict or "your session ended; sign in again")

    def _authenticate_all(self, tokens: set[str]) -> dict[str, Principal | str]:
        with transaction(self._factory) as db:
            return auth.authenticate_many(db, tokens)

    def _newest(self) -> int:
        with transaction(self._factory) as db:
            return events.latest_id(db)

    def _read(self, after_id: int, gaps: list[int]) -> tuple[list[EventView], dict[int, Gate]]:
        """New events, and what reading each takes (``event_visibility.gates``)."""
        with transaction(self._factory) as db:
            batch = list(events.read_all_after(db, after_id, missing=gaps))
            return batch, event_visibility.gates(db, batch) if batch else {}


_creating = threading.Lock()


def feed_for(state: State, factory: sessionmaker[Session]) -> EventFeed:
    """The app's feed (created on first use)."""
    with _creating:
        feed: EventFeed | None = getattr(state, "event_feed", None)
        if feed is None:
            feed = state.event_feed = EventFeed(factory)
        return feed
