"""What each task kind does on this node. A handler gets the claimed task and a reporter
for progress and log lines; raising CloudenvError fails the task with that message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from cloudenv.agent.facts import collect_facts
from cloudenv.services.tasks import TaskClaim, TaskKind
from cloudenv.services.tenancy import nodes
from cloudenv.store.engine import transaction


@dataclass(frozen=True)
class TaskContext:
    node_id: str
    session_factory: sessionmaker[Session]
    report: Callable[..., None]


Handler = Callable[[TaskClaim, TaskContext], None]


def refresh_facts(task: TaskClaim, ctx: TaskContext) -> None:
    ctx.report(progress=10, line="Reading hardware and host facts")
    facts = collect_facts()
    ctx.report(
        progress=80,
        line=f"Found {facts.hardware['vcpus']} vCPUs, {len(facts.hardware['disks'])} disk(s)",
    )
    with transaction(ctx.session_factory) as db:
        nodes.report_facts(db, ctx.node_id, hardware=facts.hardware, host=facts.host)


HANDLERS: dict[str, Handler] = {
    TaskKind.NODE_REFRESH_FACTS.value: refresh_facts,
}
