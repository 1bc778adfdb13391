"""At most a few argon2 computations at once per process, and a short queue for the rest.

argon2id is meant to be expensive: about a second of a core and 64 MiB per password at
the library's defaults. The API answers sign-ins on a thread pool of 40, so 40 concurrent
guesses once meant 40 hashes at once: the daemon grew from 236 MB to 1.79 GB and every
other request waited its turn for a core (10 ms became 1 s). Here every hash and every
verification takes one of ``slots`` (about the cores this process may use); up to
``queue`` callers wait for one, and any caller beyond that is answered 429 with a
``Retry-After`` at once, without hashing, so a flood costs a bounded amount of memory and
leaves the thread pool to everyone else.

The node's ``serve`` sets ``CLOUDENV_HASH_SLOTS`` for its API worker processes (the cores
shared out between them); a process without it uses every core.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from cloudenv.errors import TooManyRequests

SLOTS_ENV = "CLOUDENV_HASH_SLOTS"
#: Callers allowed to wait for a slot, per slot.
QUEUE_PER_SLOT = 4
#: The longest a queued caller waits before it is told to come back later.
MAX_WAIT_SECONDS = 30.0
#: What a hash is taken to cost before this process has timed one (production argon2 here).
FIRST_GUESS_SECONDS = 1.0

BUSY = "The node is checking too many passwords at once; try again in {seconds} s."


def default_slots() -> int:
    configured = os.environ.get(SLOTS_ENV, "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, os.cpu_count() or 1)


class HashGate:
    """A semaphore of ``slots`` with at most ``queue`` waiters."""

    def __init__(
        self, slots: int, queue: int | None = None, max_wait: float = MAX_WAIT_SECONDS
    ) -> None:
        self.slots = max(1, slots)
        self.queue = self.slots * QUEUE_PER_SLOT if queue is None else max(0, queue)
        self.max_wait = max_wait
        self._semaphore = threading.BoundedSemaphore(self.slots)
        self._lock = threading.Lock()
        self._waiting = 0
        self._running = 0
        # A moving average of one computation's seconds, for Retry-After.
        self._seconds = FIRST_GUESS_SECONDS

    @property
    def running(self) -> int:
        with self._lock:
            return self._running

    @property
    def waiting(self) -> int:
        with self._lock:
            return self._waiting

    def retry_after(self) -> int:
        """Seconds until what is running and queued now would have been done."""
        with self._lock:
            ahead = self._waiting + self._running
            seconds = self._seconds
        return max(1, math.ceil(seconds * (ahead / self.slots + 1)))

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the block; TooManyRequests when the queue is full or the
        wait too long."""
        # A free slot is taken at once, without a place in the queue.
        if not self._semaphore.acquire(blocking=False):
            self._wait_for_slot()
        with self._lock:
            self._running += 1
        started = time.monotonic()
        try:
            yield
        finally:
            elapsed = time.monotonic() - started
            with self._lock:
                self._running -= 1
                self._seconds = 0.8 * self._seconds + 0.2 * elapsed
            self._semaphore.release()

    def _wait_for_slot(self) -> None:
        with self._lock:
            full = self._waiting >= self.queue
            if not full:
                self._waiting += 1
        if full:
            raise self._busy()
        try:
            acquired = self._semaphore.acquire(timeout=self.max_wait)
        finally:
            with self._lock:
                self._waiting -= 1
        if not acquired:
            raise self._busy()

    def _busy(self) -> TooManyRequests:
        seconds = self.retry_after()
        return TooManyRequests(BUSY.format(seconds=seconds), retry_after=seconds)


_gate = HashGate(default_slots())


def gate() -> HashGate:
    """This process's gate."""
    return _gate


@contextmanager
def slot() -> Iterator[None]:
    """One slot of this process's gate for the block (see :class:`HashGate`)."""
    with _gate.slot():
        yield


@contextmanager
def gate_for_tests(replacement: HashGate) -> Iterator[HashGate]:
    """Use ``replacement`` as the process's gate inside the block (tests only)."""
    global _gate
    saved = _gate
    _gate = replacement
    try:
        yield replacement
    finally:
        _gate = saved
