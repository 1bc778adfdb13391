"""The agent's threads: a task runner and a heartbeat.

The runner claims this node's queued tasks one at a time (compare-and-swap in the
database, so a second daemon on the same node could not run a task twice), runs the
handler, and finishes the task. It wakes on a nudge (a task was just committed on this
node) or every second, so tasks written by another node's API are picked up too.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from cloudenv.agent.handlers import HANDLERS, TaskContext
from cloudenv.errors import CloudenvError
from cloudenv.services import auth, tasks
from cloudenv.services.tenancy import nodes
from cloudenv.store.engine import transaction

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
IDLE_POLL_SECONDS = 1.0


class Agent:
    def __init__(self, node_id: str, session_factory: sessionmaker[Session]) -> None:
        self.node_id = node_id
        self.factory = session_factory
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Fail what a previous run left half-done, say we're alive, then start the threads."""
        with transaction(self.factory) as db:
            failed = tasks.fail_interrupted(db, self.node_id)
            auth.purge_expired_sessions(db)
            nodes.heartbeat(db, self.node_id)
        if failed:
            log.warning("marked %d interrupted task(s) as failed", failed)
        for target, name in ((self._run_tasks, "task-runner"), (self._beat, "heartbeat")):
            thread = threading.Thread(target=target, name=f"cloudenv-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def nudge(self) -> None:
        """Something for this node was committed: look now rather than at the next poll."""
        self._wake.set()

    def run_pending(self) -> int:
        """Run every queued task of this node now; returns how many ran (tests use this)."""
        ran = 0
        while self._run_one():
            ran += 1
        return ran

    def _run_tasks(self) -> None:
        while not self._stop.is_set():
            try:
                if self._run_one():
                    continue
            except Exception:
                log.exception("the task runner failed; retrying")
            self._wake.wait(IDLE_POLL_SECONDS)
            self._wake.clear()

    def _run_one(self) -> bool:
        with transaction(self.factory) as db:
            claim = tasks.claim_next(db, self.node_id)
        if claim is None:
            return False
        handler = HANDLERS.get(claim.kind)

        def report(**kwargs: Any) -> None:
            with transaction(self.factory) as db:
                tasks.report(db, claim.id, **kwargs)

        error: str | None = None
        try:
            if handler is None:
                raise CloudenvError(f"This node does not know how to run {claim.kind} tasks.")
            handler(claim, TaskContext(self.node_id, self.factory, report))
        except CloudenvError as exc:
            error = exc.message
        except Exception as exc:
            log.exception("task %s (%s) crashed", claim.id, claim.kind)
            error = f"The task failed unexpectedly: {exc}. The node's log has the details."
        with transaction(self.factory) as db:
            tasks.finish(db, claim.id, error=error)
        return True

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                with transaction(self.factory) as db:
                    nodes.heartbeat(db, self.node_id)
            except Exception:
                log.exception("heartbeat failed")
