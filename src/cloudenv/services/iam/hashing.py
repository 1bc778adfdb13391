"""At most a few argon2 computations at once per process, a short queue for the rest, and
both behind every other request for the CPU.

argon2id is meant to be expensive: about a second of a core and 64 MiB per password at
the library's defaults. The API answers sign-ins on a thread pool of 40, so 40 concurrent
guesses once meant 40 hashes at once: the daemon grew from 236 MB to 1.79 GB and every
other request waited its turn for a core (10 ms became 1 s).

Here every hash and every verification runs on one of ``slots`` threads of this module's
own (about the cores this process may use); up to ``queue`` more wait for one, and a
caller beyond that is answered 429 with a ``Retry-After`` at once, without hashing. So a
flood costs at most ``slots`` times 64 MiB and holds at most ``slots + queue`` of the API's
threads. The hashing threads run at a lower CPU priority (``HASH_NICE``; argon2's own
lane threads inherit it): when the cores are busy, other users' requests go first and a
sign-in waits a little longer, which is the right way round.

The node's ``serve`` sets ``CLOUDENV_HASH_SLOTS`` for its API worker processes (the cores
shared out between them); a process without it uses every core.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import TypeVar

from cloudenv.errors import TooManyRequests

SLOTS_ENV = "CLOUDENV_HASH_SLOTS"
#: Callers allowed to wait for a slot, per slot.
QUEUE_PER_SLOT = 4
#: The longest a queued caller waits before it is told to come back later.
MAX_WAIT_SECONDS = 30.0
#: What a hash is taken to cost before this process has timed one (production argon2 here).
FIRST_GUESS_SECONDS = 1.0
#: The niceness of the hashing threads (0 is normal, 19 the lowest priority).
HASH_NICE = 10

BUSY = "The node is checking too many passwords at once; try again in {seconds} s."

T = TypeVar("T")


def default_slots() -> int:
    configured = os.environ.get(SLOTS_ENV, "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, os.cpu_count() or 1)


def _lower_priority() -> None:
    """Run this (hashing) thread, and the threads it starts, behind everything else."""
    # Not Linux, or not allowed: normal priority then.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICE)


class HashGate:
    """``slots`` hashing threads with at most ``queue`` computations waiting for one."""

    def __init__(
        self, slots: int, queue: int | None = None, max_wait: float = MAX_WAIT_SECONDS
    ) -> None:
        self.slots = max(1, slots)
        self.queue = self.slots * QUEUE_PER_SLOT if queue is None else max(0, queue)
        self.max_wait = max_wait
        self._lock = threading.Lock()
        self._admitted = 0  # running or waiting
        self._running = 0
        # A moving average of one computation's seconds, for Retry-After.
        self._seconds = FIRST_GUESS_SECONDS
        self._executor: ThreadPoolExecutor | None = None

    @property
    def running(self) -> int:
        with self._lock:
            return self._running

    @property
    def waiting(self) -> int:
        with self._lock:
            return self._admitted - self._running

    def retry_after(self) -> int:
        """Seconds until what is running and queued now would have been done."""
        with self._lock:
            ahead = self._admitted
            seconds = self._seconds
        return max(1, math.ceil(seconds * (ahead / self.slots + 1)))

    def run(self, function: Callable[[], T]) -> T:
        """``function()`` on a hashing thread, once one is free; TooManyRequests when the
        queue is full or the wait too long."""
        with self._lock:
            full = self._admitted >= self.slots + self.queue
            if not full:
                self._admitted += 1
                executor = self._executor or self._start()
        if full:
            raise self._busy()
        try:
            future = executor.submit(self._timed, function)
            return self._result(future)
        finally:
            with self._lock:
                self._admitted -= 1

    def _start(self) -> ThreadPoolExecutor:
        # Started on first use, so an API worker process makes its own threads.
        self._executor = ThreadPoolExecutor(
            self.slots, thread_name_prefix="argon2", initializer=_lower_priority
        )
        return self._executor

    def _result(self, future: Future[T]) -> T:
        try:
            return future.result(timeout=self.max_wait)
        except FutureTimeout:
            if future.cancel():  # still queued: never runs
                raise self._busy() from None
            return future.result()  # running: it ends within a computation's time

    def _timed(self, function: Callable[[], T]) -> T:
        with self._lock:
            self._running += 1
        started = time.monotonic()
        try:
            return function()
        finally:
            elapsed = time.monotonic() - started
            with self._lock:
                self._running -= 1
                self._seconds = 0.8 * self._seconds + 0.2 * elapsed

    def _busy(self) -> TooManyRequests:
        seconds = self.retry_after()
        return TooManyRequests(BUSY.format(seconds=seconds), retry_after=seconds)


_gate = HashGate(default_slots())


def gate() -> HashGate:
    """This process's gate."""
    return _gate


def run(function: Callable[[], T]) -> T:
    """``function()`` (a hash or a verification) in this process's bounded pool."""
    return _gate.run(function)


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
