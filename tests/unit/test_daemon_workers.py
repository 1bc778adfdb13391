"""Serving on several cores: an API worker's after-commit nudge reaches the one agent in
the parent process, through the datagram socket or the nudge given to ``build``."""

from __future__ import annotations

import threading

import pytest

from cloudenv.daemon import NudgeListener, _nudger, build
from tests.conftest import Deployment

pytestmark = pytest.mark.unit


class RecordingAgent:
    node_id = "node-test"

    def __init__(self) -> None:
        self.nudged = threading.Event()

    def nudge(self) -> None:
        self.nudged.set()


def test_a_workers_nudge_wakes_the_parents_agent() -> None:
    agent = RecordingAgent()
    listener = NudgeListener(agent)  # type: ignore[arg-type]
    listener.start()
    try:
        _nudger(listener.address)()
        assert agent.nudged.wait(5)
    finally:
        listener.close()


def test_a_commit_that_queues_a_task_here_calls_the_given_nudge(
    sqlite_deployment: Deployment,
) -> None:
    from cloudenv.services.access import SYSTEM
    from cloudenv.services.tenancy.nodes import request_facts_refresh
    from cloudenv.store.engine import transaction

    calls: list[int] = []
    settings = sqlite_deployment.daemon.settings
    worker = build(settings, run_agent=False, migrate=False, nudge=lambda: calls.append(1))
    with transaction(worker.session_factory) as db:
        request_facts_refresh(db, SYSTEM, settings.node_id)  # queues a task on this node
    worker.engine.dispose()
    assert calls == [1]
