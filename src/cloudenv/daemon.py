"""The composition root of ``cloudenv serve``: database, migrations, agent and API wired
together for one node. Tests build the same thing in-process.

``serve`` may run the API in several worker processes to use every core: the node agent
then runs exactly once, in the parent process, and the workers' after-commit nudges reach
it as datagrams on a Unix socket (see ``NudgeListener``). The workers share the listening
socket; uvicorn's supervisor restarts a worker that dies and stops them all on SIGTERM.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from cloudenv import daemon_log
from cloudenv.agent.drivers import Drivers, libvirt_drivers
from cloudenv.agent.loop import Agent
from cloudenv.api.app import create_app
from cloudenv.config import Settings
from cloudenv.consoles.router import console_router
from cloudenv.consoles.shell import ShellSlots
from cloudenv.services.iam import hashing
from cloudenv.services.tasks import QUEUED_ON_NODES
from cloudenv.store.engine import make_engine, make_session_factory
from cloudenv.store.migrate import upgrade

#: Under the data dir: the lock files that count each user's open shells on this node,
#: across the API's worker processes.
SHELL_SLOTS_DIR = "run/shells"
#: Where the storage driver stages work too big for /tmp (a container's root filesystem
#: unpacked before mke2fs fills a block volume, an upload bound for an RBD pool).
SCRATCH_DIR = "scratch"


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
    nudge: Callable[[], None] | None = None,
) -> Daemon:
    """Everything ``serve`` runs; the agent starts and stops with the app's lifespan.
    Without ``drivers``, a running agent uses libvirt. ``nudge`` replaces waking the
    in-process agent after a commit that queued a task here (an API worker process sends
    it to the parent's agent)."""
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    factory = make_session_factory(engine)
    if drivers is None and run_agent:
        drivers = libvirt_drivers(
            settings.accelerator, settings.node_id, scratch=settings.data_dir / SCRATCH_DIR
        )
    agent = Agent(
        settings.node_id,
        factory,
        drivers,
        audit_retention_days=settings.audit_retention_days,
    )
    wake = nudge or agent.nudge

    def wake_agent(session: Session) -> None:
        if settings.node_id in session.info.pop(QUEUED_ON_NODES, set()):
            wake()

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
    shells = ShellSlots(settings.data_dir / SHELL_SLOTS_DIR)
    app.include_router(
        console_router(
            factory, lambda kind: agent.drivers.hypervisor(kind), settings.node_id, shells
        )
    )
    return Daemon(settings, engine, factory, agent, app)


# Serving on several cores -----------------------------------------------------------------------

#: The environment variable that hands an API worker process what it needs to build its app.
WORKER_ENV = "CLOUDENV_API_WORKER"
#: Seconds an API worker may take to answer the supervisor's liveness ping before it is
#: killed and replaced. uvicorn's default (5 s) is shorter than a freshly spawned worker
#: needs on a busy host: it was killed before it could answer, again and again, and the
#: node never served (seen with the test suite on 2 loaded cores).
WORKER_HEALTHCHECK_SECONDS = 30

log = logging.getLogger(__name__)


class NudgeListener:
    """The agent's end of the workers' nudges: an abstract-namespace Unix datagram socket
    (no file to clean up, no path length limit) named after this process. A datagram's
    content is ignored: any datagram means "look at your queue now". A stray one from
    another local process only makes the agent look early."""

    def __init__(self, agent: Agent) -> None:
        self.address = f"\0cloudenv-agent-{agent.node_id}-{os.getpid()}"
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(self.address)
        self._agent = agent
        self._thread = threading.Thread(target=self._listen, name="cloudenv-nudges", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _listen(self) -> None:
        while True:
            try:
                self._socket.recv(64)
            except OSError:
                return  # closed
            self._agent.nudge()

    def close(self) -> None:
        self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()


def _nudger(address: str) -> Callable[[], None]:
    """What a worker calls after a commit that queued a task on this node."""
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def nudge() -> None:
        try:
            sender.sendto(b"1", address)
        except OSError:  # the agent's queue is full or it is stopping: its poll still runs
            log.debug("could not nudge the agent at %r", address)

    return nudge


def worker_app() -> FastAPI:
    """The app of one API worker process (uvicorn's factory): no agent, no migration, its
    nudges sent to the parent's agent. Reads its settings from ``WORKER_ENV``."""
    spec = json.loads(os.environ[WORKER_ENV])
    configure_logging(Path(spec["data_dir"]), spec["log_level"])
    settings = Settings.load(Path(spec["data_dir"])).with_overrides(
        bind=spec["bind"], port=spec["port"]
    )
    # The console bridges need this node's hypervisor; the agent that manages it runs in
    # the parent process and is never started here.
    drivers = libvirt_drivers(
        settings.accelerator, settings.node_id, scratch=settings.data_dir / SCRATCH_DIR
    )
    daemon = build(
        settings,
        run_agent=False,
        migrate=False,
        drivers=drivers,
        nudge=_nudger(spec["nudge_address"]),
    )
    return daemon.app


def configure_logging(data_dir: Path, log_level: str) -> None:
    """A process of ``cloudenv serve`` logs to stderr (the service manager's log) and to
    the data dir's log file, which ``GET /v1/nodes/{id}/logs`` reads back."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    daemon_log.install(data_dir)


def serve(daemon: Daemon, workers: int, log_level: str, **uvicorn_options: Any) -> bool:
    """Serve ``daemon`` until SIGTERM/SIGINT: in this process with one worker, else in
    ``workers`` API processes with the agent here. False if serving could not start (the
    port is taken, say); True after a signal ended it."""
    import contextlib

    import uvicorn

    if workers <= 1:
        server = uvicorn.Server(uvicorn.Config(daemon.app, log_level=log_level, **uvicorn_options))
        daemon_log.attach_separate()  # uvicorn's configuration replaced its loggers' handlers
        # uvicorn hands SIGINT back once it has shut down gracefully; Ctrl-C is a clean stop.
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        return bool(server.started)
    from uvicorn.supervisors import Multiprocess

    # The cores are shared out between the API processes for password hashing, so the
    # node as a whole runs about one argon2 computation per core (see iam.hashing).
    cores = os.cpu_count() or 1
    os.environ.setdefault(hashing.SLOTS_ENV, str(max(1, cores // workers)))
    listener = NudgeListener(daemon.agent)
    settings = daemon.settings
    os.environ[WORKER_ENV] = json.dumps(
        {
            "data_dir": str(settings.data_dir),
            "bind": settings.bind,
            "port": settings.port,
            "log_level": log_level,
            "nudge_address": listener.address,
        }
    )
    config = uvicorn.Config(
        "cloudenv.daemon:worker_app",
        factory=True,
        workers=workers,
        log_level=log_level,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        **uvicorn_options,
    )
    daemon_log.attach_separate()  # uvicorn's configuration replaced its loggers' handlers
    try:
        listening = config.bind_socket()  # first: a taken port stops us before the agent runs
    except SystemExit:  # uvicorn has logged why
        listener.close()
        return False
    listener.start()
    daemon.agent.start()
    try:
        Multiprocess(config, sockets=[listening]).run()
    finally:
        daemon.agent.stop()
        listener.close()
        daemon.engine.dispose()
    return True
