"""vSwitches: a node's Open vSwitch bridges, named ``svswitchN`` uniquely in the cluster.

A row is the wanted switch; its ``status``/``message`` say what the node's agent last
made of it. Every change writes the row and queues the node's ``network.sync`` in the
same transaction (``sync.queue_sync``); the agent brings OVS to the rows. Uplinks are
checked against the NICs the node's agent last reported (``node_nics``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import SwitchStatus, VSwitchType
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.services import events, paths
from cloudenv.services.access import Action, Principal, authorize, readable
from cloudenv.services.confirmation import check_confirm
from cloudenv.services.events import EventKind
from cloudenv.services.journal import record_change
from cloudenv.services.network.sync import queue_sync
from cloudenv.services.partial import KEEP, Keep
from cloudenv.services.validation import check_description
from cloudenv.store.queries import network as q
from cloudenv.store.queries import tenancy as tq
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Node, NodeNic, VSwitch

#: The seed's rule: "svswitch is the prefix and X is a positive integer". The name is
#: also the OVS bridge's, a Linux interface name: at most 15 characters.
NAME_PATTERN = re.compile(r"svswitch[1-9][0-9]{0,6}")
NAME_RULE = (
    "a vSwitch is named svswitchN, where svswitch is the prefix and N a positive integer "
    "without leading zeros (svswitch10, svswitch21), at most 15 characters in all"
)
MTU_MIN, MTU_MAX = 68, 9216
#: OVS ``other_config:mac-table-size`` (its default is 2048) and ``mac-aging-time``
#: (seconds; default 300).
MAC_TABLE_MIN, MAC_TABLE_MAX = 10, 1_000_000
AGING_MIN, AGING_MAX = 1, 86_400


@dataclass(frozen=True)
class VSwitchView:
    id: str
    type: int
    node_id: str
    cluster_id: str
    name: str
    description: str
    mtu: int | None
    config: dict[str, Any]
    creation: datetime
    port_group_count: int
    uplink_count: int
    status: str
    message: str


def security_of(switch: VSwitch) -> dict[str, Any]:
    """The wire's ``security`` with every key present (null: OVS's default)."""
    stored = switch.security or {}
    table = stored.get("mac_table") or {}
    return {
        "mac_table": {"maximum": table.get("maximum"), "aging_time": table.get("aging_time")},
        "firewall_rules": list(stored.get("firewall_rules") or []),
    }


def _views(db: Session, switches: Sequence[VSwitch]) -> list[VSwitchView]:
    counts = q.port_group_counts(db, [s.id for s in switches])
    return [
        VSwitchView(
            id=s.id,
            type=int(s.type),
            node_id=s.node_id,
            cluster_id=s.cluster_id,
            name=s.name,
            description=s.description,
            mtu=s.mtu,
            config={"security": security_of(s), "uplinks": list(s.uplinks or [])},
            creation=s.creation,
            port_group_count=counts.get(s.id, 0),
            uplink_count=len(s.uplinks or []),
            status=s.status.value,
            message=s.message,
        )
        for s in switches
    ]


def path_of(db: Session, switch: VSwitch) -> paths.Path:
    """A vSwitch sits on its node: (datacenter, cluster, node, vSwitch)."""
    return paths.on_node(db, switch.node_id, switch.id)


# Reading ----------------------------------------------------------------------------------


def list_vswitches(
    db: Session, principal: Principal, *, node_id: str | None = None
) -> list[VSwitchView]:
    """The vSwitches (of one node) whose ``vswitch.read`` the caller's policies allow."""
    if node_id is not None:
        node_of(db, principal, node_id)
    found = q.vswitches(db, principal.scope, node_id=node_id)
    shown = readable(principal, Action.VSWITCH_READ, found, lambda s: path_of(db, s))
    return _views(db, shown)


def get_vswitch(db: Session, principal: Principal, vswitch_id: str) -> VSwitchView:
    return _views(db, [load(db, principal, vswitch_id, Action.VSWITCH_READ)])[0]


# Changing ---------------------------------------------------------------------------------


def create_vswitch(
    db: Session,
    principal: Principal,
    *,
    node_id: str,
    name: str,
    description: str = "",
    mtu: int | None = None,
    uplinks: Sequence[str] = (),
    security: dict[str, Any] | None = None,
    force: bool = False,
) -> VSwitch:
    """A vSwitch on the node, pending until its agent has made the bridge."""
    node = node_of(db, principal, node_id)
    authorize(principal, Action.VSWITCH_CREATE, node.organization_id, paths.node_path(db, node.id))
    check_name(name)
    check_description(description)
    check_mtu(mtu)
    checked_security = check_security(security)
    _check_name_free(db, node, name)
    checked_uplinks = check_uplinks(db, node, uplinks, owner=None, force=force)
    switch = VSwitch(
        id=new_id(Prefix.VSWITCH),
        organization_id=node.organization_id,
        cluster_id=node.cluster_id,
        node_id=node.id,
        type=VSwitchType.STANDALONE,
        name=name,
        description=description,
        mtu=mtu,
        uplinks=checked_uplinks,
        security=checked_security,
        status=SwitchStatus.PENDING,
        message="",
        creation=clock.now(),
    )
    db.add(switch)
    db.flush()
    record_change(
        db,
        principal,
        Action.VSWITCH_CREATE,
        event=EventKind.VSWITCH_CREATED,
        target_id=switch.id,
        organization_id=switch.organization_id,
        data={"node_id": node.id},
        message=f"vSwitch {name} on node {node.name}, uplinks: "
        + (", ".join(checked_uplinks) or "none (internal)"),
    )
    queue_sync(db, node.id)
    return switch


def update_vswitch(
    db: Session,
    principal: Principal,
    vswitch_id: str,
    *,
    description: str | Keep = KEEP,
    mtu: int | Keep | None = KEEP,
    uplinks: Sequence[str] | Keep = KEEP,
    security: dict[str, Any] | Keep = KEEP,
    force: bool = False,
) -> VSwitchView:
    """Change what is given; the node's agent applies it (status pending until then)."""
    switch = load(db, principal, vswitch_id, Action.VSWITCH_UPDATE)
    changed: list[str] = []
    if not isinstance(description, Keep):
        switch.description = check_description(description)
        changed.append("description")
    if not isinstance(mtu, Keep):
        switch.mtu = check_mtu(mtu)
        changed.append("mtu")
    if not isinstance(security, Keep):
        switch.security = check_security(security)
        changed.append("security")
    if not isinstance(uplinks, Keep):
        node = _node_unscoped(db, switch.node_id)
        switch.uplinks = check_uplinks(db, node, uplinks, owner=switch, force=force)
        changed.append("uplinks")
    if changed:
        switch.status, switch.message = SwitchStatus.PENDING, ""
        record_change(
            db,
            principal,
            Action.VSWITCH_UPDATE,
            event=EventKind.VSWITCH_UPDATED,
            target_id=switch.id,
            organization_id=switch.organization_id,
            data={"node_id": switch.node_id},
            message="Changed " + ", ".join(changed),
        )
        queue_sync(db, switch.node_id)
    db.flush()
    return _views(db, [switch])[0]


def delete_vswitch(
    db: Session, principal: Principal, vswitch_id: str, *, confirm: str | None = None
) -> None:
    """Forget the vSwitch; the node's agent removes its bridge. Refused while port groups
    or instance interfaces use it."""
    switch = load(db, principal, vswitch_id, Action.VSWITCH_DELETE)
    check_confirm(confirm, f"Deleting vSwitch {switch.name} ({switch.id})")
    groups = q.port_groups(db, UNSCOPED, vswitch_id=switch.id)
    if groups:
        names = ", ".join(pg.name for pg, _ in groups)
        raise Conflict(
            f"vSwitch {switch.name} ({switch.id}) still has {len(groups)} port group(s): "
            f"{names}. Delete them first."
        )
    interfaces = q.interfaces_on(db, switch.id)
    if interfaces:
        raise Conflict(
            f"vSwitch {switch.name} ({switch.id}) is in use by "
            f"{describe_interfaces(interfaces)}. Remove those interfaces first."
        )
    record_change(
        db,
        principal,
        Action.VSWITCH_DELETE,
        event=EventKind.VSWITCH_DELETED,
        target_id=switch.id,
        organization_id=switch.organization_id,
        data={"node_id": switch.node_id},
        message=f"vSwitch {switch.name}",
    )
    node_id = switch.node_id
    db.delete(switch)
    db.flush()
    queue_sync(db, node_id)


def describe_interfaces(rows: Sequence[Any]) -> str:
    """ "3 instance interface(s): web-1 (inst-…) net0, ..." for a refusal (at most 5)."""
    shown = [f"{inst.name} ({inst.id}) {dev.name}" for dev, inst in rows[:5]]
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"{len(rows)} instance interface(s): {', '.join(shown)}{more}"


# Checks -----------------------------------------------------------------------------------


def check_name(name: str) -> str:
    if NAME_PATTERN.fullmatch(name) is None:
        raise InvalidInput(f"vSwitch name {name!r} is not valid: {NAME_RULE}.", field="name")
    return name


def check_mtu(mtu: int | None) -> int | None:
    if mtu is not None and not MTU_MIN <= mtu <= MTU_MAX:
        raise InvalidInput(
            f"MTU {mtu} is out of range: a vSwitch's MTU is {MTU_MIN}-{MTU_MAX} bytes "
            "(leave it out to keep the NICs' own).",
            field="mtu",
        )
    return mtu


def check_security(security: dict[str, Any] | None) -> dict[str, Any]:
    """The stored ``security``: the MAC table limits checked; firewall rules aren't
    applied by this release, so any are refused rather than silently ignored."""
    given = security or {}
    rules = given.get("firewall_rules") or []
    if rules:
        raise InvalidInput(
            "vSwitch firewall rules are not supported yet: send an empty firewall_rules list.",
            field="config.security.firewall_rules",
        )
    table = given.get("mac_table") or {}
    checked: dict[str, int | None] = {}
    for key, low, high, what in (
        ("maximum", MAC_TABLE_MIN, MAC_TABLE_MAX, "MAC table size"),
        ("aging_time", AGING_MIN, AGING_MAX, "MAC aging time (seconds)"),
    ):
        value = table.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
        ):
            raise InvalidInput(
                f"The {what} {value!r} is out of range: use an integer {low}-{high}, or null "
                "for Open vSwitch's default.",
                field=f"config.security.mac_table.{key}",
            )
        checked[key] = value
    return {"mac_table": checked, "firewall_rules": []}


def management_addresses(node: Node, nic: NodeNic) -> list[str]:
    """The NIC's addresses, the one the node serves on first."""
    found = list(nic.addresses or [])
    mine = [a for a in found if node.ip_address and a.split("/")[0] == node.ip_address]
    return mine + [a for a in found if a not in mine]


def check_uplinks(
    db: Session, node: Node, uplinks: Sequence[str], *, owner: VSwitch | None, force: bool
) -> list[str]:
    """``uplinks`` when each is a NIC of the node that no other vSwitch has, listed once,
    and (unless ``force``) carries no address of the node: a NIC with an address joined to
    a bridge loses it, and the node loses that network (its management one, most often)."""
    nics = {n.name: n for n in q.node_nics(db, node.id)}
    held = q.uplink_holders(db, node.id)
    seen: set[str] = set()
    for index, name in enumerate(uplinks):
        field = f"config.uplinks[{index}]"
        if name in seen:
            raise InvalidInput(f"NIC {name} is listed twice; list each uplink once.", field=field)
        seen.add(name)
        nic = nics.get(name)
        if nic is None:
            known = ", ".join(sorted(nics)) or "none reported yet"
            raise InvalidInput(
                f"Node {node.name} has no NIC named {name!r} (its NICs: {known}); "
                "GET /v1/nodes/{id}/network/interfaces lists them.",
                field=field,
            )
        holder = held.get(name)
        if holder is not None and (owner is None or holder.id != owner.id):
            raise Conflict(
                f"NIC {name} is already an uplink of vSwitch {holder.name} ({holder.id}); a "
                "NIC can be the uplink of one vSwitch only. Remove it there first.",
                field=field,
            )
        addresses = management_addresses(node, nic)
        if addresses and not force:
            serves = node.ip_address and addresses[0].split("/")[0] == node.ip_address
            what = (
                f"the node's management address {node.ip_address}"
                if serves
                else f"address(es) of the node ({', '.join(addresses)})"
            )
            raise InvalidInput(
                f"NIC {name} carries {what}: joined to a vSwitch it would lose it, and the "
                "node would lose that network (and with the management address, its "
                "connection to the cluster). Choose another NIC, or send force: true if the "
                "node keeps another way in.",
                field=field,
            )
    return list(uplinks)


def _check_name_free(db: Session, node: Node, name: str) -> None:
    holder = q.vswitch_by_name(db, node.cluster_id, name)
    if holder is None:
        return
    where = _node_unscoped(db, holder.node_id)
    on = "this node" if holder.node_id == node.id else f"node {where.name} ({where.id})"
    raise Conflict(
        f"vSwitch name {name} is already used on {on} of this cluster; vSwitch names are "
        "unique cluster-wide, so choose another name.",
        field="name",
    )


# Loading ----------------------------------------------------------------------------------


def node_of(db: Session, principal: Principal, node_id: str) -> Node:
    node = tq.get_node(db, node_id, principal.scope)
    if node is None:
        raise NotFound(f"Node {node_id} does not exist.", field="node_id")
    return node


def _node_unscoped(db: Session, node_id: str) -> Node:
    """A vSwitch's own node (seeing the vSwitch, the caller sees where it is)."""
    node = tq.get_node(db, node_id, UNSCOPED)
    if node is None:
        raise NotFound(f"Node {node_id} does not exist.", field="node_id")
    return node


def load(db: Session, principal: Principal, vswitch_id: str, action: Action) -> VSwitch:
    switch = q.get_vswitch(db, vswitch_id, principal.scope)
    if switch is None:
        raise NotFound(f"vSwitch {vswitch_id} does not exist.", field="id")
    authorize(principal, action, switch.organization_id, path_of(db, switch))
    return switch


# The node's agent -------------------------------------------------------------------------


def record_status(db: Session, vswitch_id: str, status: SwitchStatus, message: str) -> None:
    """What the node's agent made of the vSwitch; an event only when that changed."""
    switch = q.get_vswitch(db, vswitch_id, UNSCOPED)
    if switch is None or (switch.status, switch.message) == (status, message[:1024]):
        return
    switch.status, switch.message = status, message[:1024]
    events.publish(
        db,
        EventKind.VSWITCH_UPDATED,
        organization_id=switch.organization_id,
        target_id=switch.id,
        data={"node_id": switch.node_id},
    )
