"""The composition root of ``cloudenv serve``: database, migrations, agent and API wired
together for one node. Tests build the same thing in-process."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from cloudenv.agent.drivers import Drivers, libvirt_drivers
from cloudenv.agent.loop import Agent
from cloudenv.api.app import create_app
from cloudenv.config import Settings
from cloudenv.consoles.router import console_router
from cloudenv.services.tasks import QUEUED_ON_NODES
from cloudenv.store.engine import make_engine, make_session_factory
from cloudenv.store.migrate import upgrade


@dataclass
class Daemon:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    agent: Agent
    app: FastAPI


def build(
    settings: Settings,
    *,
    run_agent: bool = True,
    migrate: bool = True,
    drivers: Drivers | None = None,
) -> Daemon:
    """Everything ``serve`` runs; the agent starts and stops with the app's lifespan.
    Without ``drivers``, a running agent uses libvirt."""
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    factory = make_session_factory(engine)
    if drivers is None and run_agent:
        drivers = libvirt_drivers(settings.accelerator)
    agent = Agent(settings.node_id, factory, drivers)

    def wake_agent(session: Session) -> None:
        if settings.node_id in session.info.pop(QUEUED_ON_NODES, set()):
            agent.nudge()

    def forget(session: Session, _previous: object = None) -> None:
        session.info.pop(QUEUED_ON_NODES, None)

    event.listen(factory, "after_commit", wake_agent)
    event.listen(factory, "after_rollback", forget)
    app = create_app(
        settings,
        factory,
        on_startup=agent.start if run_agent else None,
        on_shutdown=agent.stop if run_agent else None,
    )
    app.state.agent = agent
    # The console WebSockets need this node's hypervisor, which the API must not touch.
    app.include_router(
        console_router(factory, lambda: agent.drivers.need_compute(), settings.node_id)
    )
    return Daemon(settings, engine, factory, agent, app)
