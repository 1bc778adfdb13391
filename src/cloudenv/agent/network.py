"""This node's half of networking: the ``network.sync`` task, which brings Open vSwitch to
the node's vSwitch and port group rows, and the heartbeat's refresh of its NICs.

Only the ``NetworkDriver`` protocol is called. The driver's verbs are idempotent and it
never touches a bridge or port it didn't create, so a sync repeated after a crash, a daemon
restart or an OVS restart converges and changes nothing when all is as wanted. Syncs of one
node run one at a time (a second waits for the first).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from cloudenv.agent.context import TaskContext
from cloudenv.agent.drivers import Drivers
from cloudenv.drivers.network.base import NetworkDriver
from cloudenv.enums import SwitchStatus
from cloudenv.errors import CloudenvError, NotFound
from cloudenv.services.network import nics, vswitches
from cloudenv.services.network import sync as network_sync
from cloudenv.services.tasks import TaskClaim
from cloudenv.store.engine import transaction

log = logging.getLogger(__name__)

_lock = threading.Lock()


def sync(task: TaskClaim, ctx: TaskContext) -> None:
    """``network.sync``: every vSwitch of the node made (or brought to its row), the
    bridges of ours no row wants removed, the VLAN of each running instance's port set.
    Each vSwitch's outcome is recorded on its row; the task fails, naming what failed."""
    driver = ctx.drivers.need_network()
    with _lock:
        with transaction(ctx.session_factory) as db:
            work = network_sync.node_work(db, ctx.node_id)
        failures = apply(ctx, driver, work)
    refresh_nics(ctx.node_id, ctx.session_factory, ctx.drivers)
    if failures:
        raise CloudenvError(
            f"{len(failures)} network setting(s) could not be applied on node "
            f"{ctx.node_id}: " + "; ".join(failures)
        )


def apply(ctx: TaskContext, driver: NetworkDriver, work: network_sync.NodeWork) -> list[str]:
    failures: list[str] = []
    broken: set[str] = set()  # bridges that failed: their ports wait for them
    wanted = {s.spec.name for s in work.switches}
    for switch in work.switches:
        ctx.report(
            line=f"vSwitch {switch.spec.name}: uplinks "
            + (", ".join(switch.spec.uplinks) or "none")
        )
        try:
            driver.ensure_switch(switch.spec)
            outcome, message = SwitchStatus.READY, ""
        except CloudenvError as exc:
            outcome, message = SwitchStatus.ERROR, exc.message
            failures.append(f"{switch.spec.name}: {exc.message}")
            broken.add(switch.spec.name)
        with transaction(ctx.session_factory) as db:
            vswitches.record_status(db, switch.id, outcome, message)
    for name in sorted(set(driver.switches()) - wanted):
        ctx.report(line=f"Removing bridge {name}: no vSwitch of this node wants it")
        try:
            driver.remove_switch(name)
        except CloudenvError as exc:
            failures.append(f"removing {name}: {exc.message}")
    for port in work.ports:
        if port.bridge in broken:
            continue  # its switch failed: that failure says why
        try:
            driver.set_port_vlan(port.bridge, port.mac, port.vlan)
        except NotFound:
            # Not plugged (yet): libvirt adds the port as the guest starts, and what
            # starts it sets the VLAN then; a sync racing with that has nothing to set.
            ctx.report(line=f"{port.label}: no port on the bridge yet")
        except CloudenvError as exc:
            failures.append(f"{port.label}: {exc.message}")
    ctx.report(progress=100)
    return failures


def refresh_nics(node_id: str, factory: sessionmaker[Session], drivers: Drivers) -> None:
    """Record the node's NICs as the driver reads them (the heartbeat, about once a
    minute, and after each sync); nothing happens without a network driver."""
    if drivers.network is None:
        return
    try:
        found = drivers.network.list_nics()
        with transaction(factory) as db:
            nics.refresh(db, node_id, found)
    except Exception:
        log.exception("reading the node's NICs failed")


def queue_start_sync(node_id: str, factory: sessionmaker[Session], drivers: Drivers) -> None:
    """At agent start: reconcile OVS with the rows (after a daemon or OVS restart)."""
    if drivers.network is None:
        return
    try:
        with transaction(factory) as db:
            network_sync.queue_sync(db, node_id)
    except Exception:
        log.exception("queueing the node's network sync failed")
