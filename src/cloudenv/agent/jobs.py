"""The agent's system jobs: named periodic work (heartbeat, instance state sync, metrics
sampling, audit purge, storage propagation...) run by one scheduler thread.

Each :class:`Job` has a name, a title a person reads, an interval and a callable; the
:class:`Scheduler` runs the jobs that are due in the order they were given (the
heartbeat first, so slow upkeep never delays it more than one job's run), one at a
time, and writes their states to the database (``services.monitoring.jobs``) so that
``GET /v1/nodes/{id}/jobs`` can answer from any API process.

A job that raises is recorded as failed, with its message when it is one of ours (an
unexpected exception's text goes to the log only, as tasks do) and runs again at its
next time: one job's failure never stops another. A job is due ``interval`` seconds
after its previous run began; one that overran its interval runs again at once, not
once per missed interval. Times are taken from a monotonic clock (a wall clock step
must not stop or flood the jobs); the wall clock only dates the runs for readers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from cloudenv import clock
from cloudenv.errors import CloudenvError
from cloudenv.services.monitoring import jobs as records
from cloudenv.services.monitoring.jobs import JobState, JobStatus
from cloudenv.store.engine import transaction

log = logging.getLogger(__name__)

#: The longest the scheduler sleeps before looking again (a stop is seen at once).
MAX_SLEEP_SECONDS = 5.0
UNEXPECTED = "The job failed unexpectedly; the node's log has the details."


@dataclass
class Job:
    name: str
    title: str
    interval: float
    run: Callable[[], object]
    #: Seconds from the scheduler's start to the first run (default: one interval, for
    #: jobs the agent runs once itself while starting).
    delay: float | None = None
    status: str = JobStatus.PENDING
    last_run: datetime | None = None
    last_duration: float | None = None
    last_error: str = ""
    #: Monotonic seconds at which it is due next.
    due: float = field(default=0.0)


class Scheduler:
    def __init__(
        self,
        node_id: str,
        session_factory: sessionmaker[Session],
        jobs: Sequence[Job],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique: {names}")
        self.node_id = node_id
        self.factory = session_factory
        self.jobs = {job.name: job for job in jobs}
        self._monotonic = monotonic
        self._now = now
        self._lock = threading.Lock()  # one run at a time: the thread's or a run_now

    def begin(self) -> None:
        """Schedule every job from now and record them all (forgetting jobs of an older
        version)."""
        start = self._monotonic()
        for job in self.jobs.values():
            job.due = start + (job.interval if job.delay is None else job.delay)
        self._save(list(self.jobs.values()), complete=True)

    def run_now(self, name: str) -> None:
        """Run one job at once in the calling thread (the agent does, while starting),
        then schedule it an interval later."""
        with self._lock:
            job = self.jobs[name]
            self._run([job])

    def run_due(self) -> float:
        """Run the jobs that are due; returns the seconds until the next one is."""
        with self._lock:
            now = self._monotonic()
            due = [job for job in self.jobs.values() if job.due <= now]
            if due:
                self._run(due)
            return max(0.0, min(job.due for job in self.jobs.values()) - self._monotonic())

    def loop(self, stop: threading.Event) -> None:
        """Run jobs as they fall due until ``stop`` is set."""
        wait = 0.0
        while not stop.wait(min(wait, MAX_SLEEP_SECONDS)):
            try:
                wait = self.run_due()
            except Exception:  # the scheduler itself must outlive anything
                log.exception("the system job scheduler failed; retrying")
                wait = MAX_SLEEP_SECONDS

    def states(self) -> list[JobState]:
        return [self._state(job) for job in self.jobs.values()]

    def _run(self, batch: list[Job]) -> None:
        for job in batch:
            job.status = JobStatus.RUNNING
        self._save(batch)
        for job in batch:
            began = self._monotonic()
            job.last_run = self._now()
            try:
                job.run()
            except CloudenvError as exc:
                log.warning("system job %s failed: %s", job.name, exc.message)
                job.status, job.last_error = JobStatus.FAILED, exc.message
            except Exception:
                log.exception("system job %s failed", job.name)
                job.status, job.last_error = JobStatus.FAILED, UNEXPECTED
            else:
                job.status, job.last_error = JobStatus.OK, ""
            ended = self._monotonic()
            job.last_duration = ended - began
            job.due = max(began + job.interval, ended)
        self._save(batch)

    def _state(self, job: Job) -> JobState:
        next_run = self._now() + timedelta(seconds=max(0.0, job.due - self._monotonic()))
        return JobState(
            name=job.name,
            title=job.title,
            interval_seconds=job.interval,
            status=job.status,
            last_run=job.last_run,
            next_run=next_run,
            last_duration=job.last_duration,
            last_error=job.last_error,
        )

    def _save(self, batch: list[Job], *, complete: bool = False) -> None:
        """Record the jobs' states; when the database can't take them, the jobs run on
        regardless and each job's next save brings its row up to date."""
        try:
            with transaction(self.factory) as db:
                records.record(
                    db, self.node_id, [self._state(job) for job in batch], complete=complete
                )
        except Exception:
            log.exception("recording the system jobs' states failed")
