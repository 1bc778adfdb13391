"""The agent's system job scheduler (agent/jobs.py) on a fake monotonic clock: which jobs
run when, failures recorded without stopping the others, and the states written where
``GET /v1/nodes/{id}/jobs`` reads them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cloudenv.agent.jobs import UNEXPECTED, Job, Scheduler
from cloudenv.errors import Conflict
from cloudenv.store.engine import transaction
from cloudenv.store.tables import SystemJob
from tests.conftest import Deployment

pytestmark = pytest.mark.unit

WALL = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return WALL + timedelta(seconds=self.seconds - 1000.0)


def rows(dep: Deployment) -> dict[str, SystemJob]:
    with transaction(dep.factory) as db:
        found = db.scalars(select(SystemJob).where(SystemJob.node_id == dep.setup.node_id))
        listed = {row.name: row for row in found}
        for row in listed.values():
            db.expunge(row)
        return listed


def scheduler(dep: Deployment, clock: Clock, jobs: list[Job]) -> Scheduler:
    return Scheduler(dep.setup.node_id, dep.factory, jobs, monotonic=clock.monotonic, now=clock.now)


def test_jobs_run_when_due_in_their_order_and_are_recorded(
    sqlite_deployment: Deployment,
) -> None:
    dep, clock, ran = sqlite_deployment, Clock(), []
    jobs = [
        Job("fast", "Fast", 5.0, lambda: ran.append("fast")),
        Job("slow", "Slow", 60.0, lambda: ran.append("slow"), delay=0.0),
    ]
    sched = scheduler(dep, clock, jobs)
    sched.begin()
    recorded = rows(dep)
    assert {name: row.status for name, row in recorded.items()} == {
        "fast": "pending",
        "slow": "pending",
    }
    assert recorded["fast"].next_run == WALL + timedelta(seconds=5)
    assert recorded["slow"].next_run == WALL

    assert sched.run_due() == 5.0  # slow ran (due at once); fast is due in 5 s
    assert ran == ["slow"]
    clock.seconds += 5
    assert sched.run_due() == 5.0
    assert ran == ["slow", "fast"]
    clock.seconds += 60  # both overdue: in the order given, each once
    sched.run_due()
    assert ran == ["slow", "fast", "fast", "slow"]

    recorded = rows(dep)
    assert recorded["slow"].status == "ok"
    assert recorded["slow"].last_run == WALL + timedelta(seconds=65)
    assert recorded["slow"].next_run == WALL + timedelta(seconds=125)
    assert recorded["fast"].title == "Fast" and recorded["fast"].interval_seconds == 5.0


def test_a_failing_job_is_recorded_and_the_others_still_run(
    sqlite_deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    dep, clock, ran = sqlite_deployment, Clock(), []

    def refused() -> None:
        raise Conflict("The pool is busy; trying again later.")

    def crashed() -> None:
        raise RuntimeError("/var/lib/secret/path is gone")

    sched = scheduler(
        dep,
        clock,
        [
            Job("refused", "Refused", 10.0, refused, delay=0.0),
            Job("crashed", "Crashed", 10.0, crashed, delay=0.0),
            Job("fine", "Fine", 10.0, lambda: ran.append("fine"), delay=0.0),
        ],
    )
    sched.begin()
    with caplog.at_level(logging.WARNING, logger="cloudenv.agent.jobs"):
        sched.run_due()
    assert ran == ["fine"]
    recorded = rows(dep)
    assert (recorded["refused"].status, recorded["refused"].last_error) == (
        "failed",
        "The pool is busy; trying again later.",
    )
    # An unexpected exception's text (host paths...) goes to the log, not to readers.
    assert (recorded["crashed"].status, recorded["crashed"].last_error) == ("failed", UNEXPECTED)
    assert "/var/lib/secret/path is gone" in caplog.text
    assert recorded["fine"].status == "ok" and recorded["fine"].last_error == ""
    # Failed jobs run again at their next time.
    clock.seconds += 10
    sched.run_due()
    assert ran == ["fine", "fine"]


def test_a_job_that_overran_its_interval_runs_again_once_not_once_per_interval(
    sqlite_deployment: Deployment,
) -> None:
    dep, clock, ran = sqlite_deployment, Clock(), []

    def slow() -> None:
        ran.append("slow")
        clock.seconds += 35  # took three and a half intervals

    sched = scheduler(dep, clock, [Job("slow", "Slow", 10.0, slow, delay=0.0)])
    sched.begin()
    assert sched.run_due() == 0.0  # due again at once
    sched.run_due()
    assert ran == ["slow", "slow"]
    assert rows(dep)["slow"].last_duration == 35.0


def test_run_now_runs_one_job_and_schedules_it_an_interval_later(
    sqlite_deployment: Deployment,
) -> None:
    dep, clock, ran = sqlite_deployment, Clock(), []
    sched = scheduler(dep, clock, [Job("beat", "Beat", 10.0, lambda: ran.append("beat"))])
    sched.begin()
    clock.seconds += 3
    sched.run_now("beat")
    assert ran == ["beat"]
    assert sched.run_due() == 10.0
    assert rows(dep)["beat"].next_run == WALL + timedelta(seconds=13)


def test_jobs_an_older_version_had_are_forgotten_at_start(sqlite_deployment: Deployment) -> None:
    dep, clock = sqlite_deployment, Clock()
    scheduler(dep, clock, [Job("old", "Old", 1.0, lambda: None)]).begin()
    scheduler(dep, clock, [Job("new", "New", 1.0, lambda: None)]).begin()
    assert set(rows(dep)) == {"new"}


def test_the_agent_runs_its_periodic_work_as_named_jobs(sqlite_deployment: Deployment) -> None:
    agent = sqlite_deployment.daemon.agent
    assert list(agent.jobs.jobs) == [
        "heartbeat",
        "instance.sync",
        "pool.usage",
        "metrics.sample",
        "pool.propagation",
        "pool.lun_rescan",
        "nics.refresh",
        "audit.purge",
        "session.purge",
    ]
    agent.jobs.begin()
    for name in agent.jobs.jobs:
        agent.jobs.run_now(name)
    assert {name: row.status for name, row in rows(sqlite_deployment).items()} == dict.fromkeys(
        agent.jobs.jobs, "ok"
    )


def test_duplicate_job_names_are_refused(sqlite_deployment: Deployment) -> None:
    with pytest.raises(ValueError, match="unique"):
        scheduler(sqlite_deployment, Clock(), [Job("a", "A", 1, print), Job("a", "A", 1, print)])
