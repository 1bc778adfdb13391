"""What every task handler receives: the claimed task's node, database and drivers, and
a reporter for progress and log lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from cloudenv.agent.drivers import Drivers
from cloudenv.services.tasks import TaskClaim


@dataclass(frozen=True)
class TaskContext:
    node_id: str
    session_factory: sessionmaker[Session]
    drivers: Drivers
    report: Callable[..., None]


Handler = Callable[[TaskClaim, TaskContext], None]
