"""A node's NICs: what its agent last read (``node_nics``), judged against its vSwitches.

``unused``: no vSwitch has it as an uplink and it carries no address of the node, so it
is free to become an uplink. ``misconfigured``: it is an uplink (wanted or found in OVS)
whose state defeats that: its link is down, its MTU is below its vSwitch's, or OVS has it
on another bridge than the vSwitch that wants it. ``reason`` says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.drivers.network.base import NicInfo
from cloudenv.services import events, paths
from cloudenv.services.access import Action, Principal, authorize
from cloudenv.services.events import EventKind
from cloudenv.services.network.vswitches import node_of
from cloudenv.store.queries import network as q
from cloudenv.store.queries import tenancy as tq
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import NodeNic


@dataclass(frozen=True)
class NicView:
    name: str
    mac: str
    unused: bool
    misconfigured: bool
    reason: str
    mtu: int
    vswitch: str | None
    speed: int | None
    link: bool
    driver: str
    addresses: list[str]


def list_nics(db: Session, principal: Principal, node_id: str) -> list[NicView]:
    node = node_of(db, principal, node_id)
    authorize(principal, Action.NIC_READ, node.organization_id, paths.node_path(db, node.id))
    held = q.uplink_holders(db, node.id)
    views = []
    for nic in q.node_nics(db, node.id):
        holder = held.get(nic.name)
        wanted = holder.name if holder else None
        problems = []
        if holder is not None and not nic.link:
            problems.append(f"its link is down while it is an uplink of {wanted}")
        if holder is not None and holder.mtu is not None and nic.mtu < holder.mtu:
            problems.append(f"its MTU {nic.mtu} is below {wanted}'s {holder.mtu}")
        if nic.vswitch and nic.vswitch != wanted:
            wants = f"{wanted} wants it" if wanted else "no vSwitch of cloudenv wants it"
            problems.append(f"Open vSwitch has it on {nic.vswitch} but {wants}")
        views.append(
            NicView(
                name=nic.name,
                mac=nic.mac,
                unused=holder is None and not nic.vswitch and not nic.addresses,
                misconfigured=bool(problems),
                reason="; ".join(problems),
                mtu=nic.mtu,
                vswitch=wanted or nic.vswitch,
                speed=nic.speed,
                link=nic.link,
                driver=nic.driver,
                addresses=list(nic.addresses or []),
            )
        )
    return views


def refresh(db: Session, node_id: str, found: Sequence[NicInfo]) -> bool:
    """Bring ``node_nics`` to what the node's agent read; ``nic.updated`` when something
    changed. Returns whether something did."""
    node = tq.get_node(db, node_id, UNSCOPED)  # the node's own agent
    if node is None:
        return False
    stored = {n.name: n for n in q.node_nics(db, node_id)}
    seen = {n.name for n in found}
    changed = bool(set(stored) - seen)
    q.delete_nics(db, node_id, set(stored) - seen)
    now = clock.now()
    for info in found:
        values = {
            "mac": info.mac,
            "mtu": info.mtu,
            "speed": info.speed,
            "link": info.link,
            "driver": info.driver,
            "vswitch": info.vswitch,
            "addresses": list(info.addresses),
        }
        row = stored.get(info.name)
        if row is None:
            db.add(NodeNic(node_id=node_id, name=info.name, updated=now, **values))
            changed = True
            continue
        if any(getattr(row, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            changed = True
        row.updated = now
    if changed:
        events.publish(
            db,
            EventKind.NICS_UPDATED,
            organization_id=node.organization_id,
            target_id=node.id,
            data={"node_id": node.id},
        )
    return changed
