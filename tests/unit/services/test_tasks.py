"""Task kinds declare what they need and what they publish, and ``queue_task`` is the one
way work is queued: task, ``task.created`` event and audit row in the caller's
transaction, or nothing at all."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cloudenv.errors import Forbidden
from cloudenv.services import tasks
from cloudenv.services.access import SYSTEM, Action, Principal
from cloudenv.services.events import EventKind
from cloudenv.services.iam.builtin import ADMINISTRATOR
from cloudenv.services.iam.policy import CompiledPolicy
from cloudenv.store.engine import transaction
from cloudenv.store.tables import AuditRecord, Event, Task
from tests.conftest import Deployment

pytestmark = pytest.mark.unit


class Boom(Exception):
    pass


def test_every_task_kind_declares_permission_description_and_event() -> None:
    for kind in tasks.TaskKind:
        assert isinstance(kind.permission, Action), kind
        assert kind.description.endswith("."), kind
        assert isinstance(kind.event, EventKind), kind
        assert kind.event.value.split(".")[0] == kind.value.split(".")[0], kind
    assert tasks.TaskKind.INSTANCE_START.event == "instance.started"
    assert tasks.TaskKind.INSTANCE_START.permission is Action.INSTANCE_POWER


def _queue(db, principal: Principal, dep: Deployment) -> Task:  # type: ignore[no-untyped-def]
    return tasks.queue_task(
        db,
        principal,
        tasks.TaskKind.NODE_REFRESH_FACTS,
        node_id=dep.setup.node_id,
        target_id=dep.setup.node_id,
        organization_id=dep.setup.organization_id,
        path=(),
    )


def _traces(dep: Deployment, task_id: str) -> tuple[int, list[str], list[int]]:
    """The task's rows, its events, and the status codes of refresh audit rows."""
    with transaction(dep.factory) as db:
        task_rows = len(db.scalars(select(Task).where(Task.id == task_id)).all())
        events = list(db.scalars(select(Event.kind).where(Event.target_id == task_id)))
        refreshes = select(AuditRecord.status_code).where(
            AuditRecord.action == "node.refresh_facts",
            AuditRecord.target_id == dep.setup.node_id,
        )
        audit = list(db.scalars(refreshes))
    return task_rows, events, audit


def test_queue_task_writes_task_event_and_audit_in_one_transaction(
    sqlite_deployment: Deployment,
) -> None:
    dep = sqlite_deployment
    with transaction(dep.factory) as db:
        task_id = _queue(db, SYSTEM, dep).id
    assert _traces(dep, task_id) == (1, ["task.created"], [202])

    with pytest.raises(Boom), transaction(dep.factory) as db:
        rolled_back = _queue(db, SYSTEM, dep).id
        raise Boom  # the caller's transaction fails after queuing: none of the three stay
    assert _traces(dep, rolled_back) == (0, [], [202])  # only the first one's


def test_queue_task_checks_the_kinds_permission(sqlite_deployment: Deployment) -> None:
    """A tenant may not queue work in another organization, whatever the service forgot."""
    dep = sqlite_deployment
    org_id, user_id = dep.add_tenant()
    alice = Principal(
        user_id=user_id,
        username="alice",
        organization_id=org_id,
        is_root_org=False,
        policy=CompiledPolicy(ADMINISTRATOR.statements),
    )
    with pytest.raises(Forbidden), transaction(dep.factory) as db:
        _queue(db, alice, dep)
    with transaction(dep.factory) as db:
        assert db.scalars(select(Task)).all() == []


def test_a_succeeded_task_publishes_its_kinds_event(sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    with transaction(dep.factory) as db:
        task_id = _queue(db, SYSTEM, dep).id
    dep.daemon.agent.run_pending()
    with transaction(dep.factory) as db:
        assert tasks.get_task(db, SYSTEM, task_id).status is tasks.TaskStatus.SUCCEEDED
        done = db.scalars(select(Event).where(Event.kind == "node.facts_refreshed")).all()
    assert [(e.target_id, e.data) for e in done] == [(dep.setup.node_id, {"task_id": task_id})]


def test_a_failed_task_publishes_no_success_event(sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    with transaction(dep.factory) as db:
        task_id = _queue(db, SYSTEM, dep).id
    with transaction(dep.factory) as db:
        assert tasks.claim_next(db, dep.setup.node_id) is not None
        tasks.finish(db, task_id, error="The node refused.")
    with transaction(dep.factory) as db:
        kinds = set(db.scalars(select(Event.kind)))
    assert "node.facts_refreshed" not in kinds and "task.updated" in kinds
