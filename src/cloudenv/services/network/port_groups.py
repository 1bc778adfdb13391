"""Port groups: the VLAN setting (access, trunk, untagged) of the instance ports that join
a vSwitch, named within it.

A change writes the row and queues the vSwitch's node's ``network.sync``, which applies
the setting live to the ports of the running instances on it (through OVSDB). Instance
interfaces are NIC devices whose ``resource_id`` is the vSwitch and whose metadata names
the port group.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import PortGroupType
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.services import paths
from cloudenv.services.access import Action, Principal, authorize, full_path
from cloudenv.services.confirmation import check_confirm
from cloudenv.services.events import EventKind
from cloudenv.services.journal import record_change
from cloudenv.services.network import vswitches
from cloudenv.services.network.sync import queue_sync
from cloudenv.services.partial import KEEP, Keep
from cloudenv.services.validation import NameRule, check_description
from cloudenv.store.queries import network as q
from cloudenv.store.tables import PortGroup, VSwitch

#: Named in URLs (``.../port_groups/{name}``): no '/' or spaces.
PORT_GROUP_NAME = NameRule(
    "Port group",
    re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"),
    "use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
)
VLAN_MIN, VLAN_MAX = 1, 4094
#: The wire's ``config.data._type`` for each type.
TYPE_NAMES = {
    PortGroupType.ACCESS: "access",
    PortGroupType.TRUNK: "trunk",
    PortGroupType.UNTAGGED: "untagged",
}


@dataclass(frozen=True)
class VlanSetting:
    type: PortGroupType
    vlan_id: int | None
    trunk_vlans: list[int]
    native_vlan_id: int | None


@dataclass(frozen=True)
class PortGroupView:
    vswitch_id: str
    vswitch_name: str
    node_id: str
    name: str
    description: str
    config: dict[str, Any]
    creation: datetime


def _data(group: PortGroup) -> dict[str, Any]:
    return {
        "_type": TYPE_NAMES[group.type],
        "vlan_id": group.vlan_id,
        "trunk_vlans": list(group.trunk_vlans or []),
        "native_vlan_id": group.native_vlan_id,
    }


def _views(
    db: Session, principal: Principal, rows: Sequence[tuple[PortGroup, VSwitch]]
) -> list[PortGroupView]:
    interfaces: dict[tuple[str, str], list[dict[str, Any]]] = {}
    switch_ids = {switch.id for _, switch in rows}
    for device, _instance in q.interfaces_of_switches(db, switch_ids, principal.scope):
        group = (device.metadata_ or {}).get("port_group")
        if device.resource_id is None or not isinstance(group, str):
            continue
        interfaces.setdefault((device.resource_id, group), []).append(
            {
                "name": device.name,
                "mac_address": device.mac or "",
                # Addresses are the guest's own business: cloudenv doesn't assign them.
                "ipv4": None,
                "ipv6": None,
            }
        )
    return [
        PortGroupView(
            vswitch_id=switch.id,
            vswitch_name=switch.name,
            node_id=switch.node_id,
            name=group.name,
            description=group.description,
            config={
                "type": int(group.type),
                "data": _data(group),
                "firewall_rules": list(group.firewall_rules or []),
                "interfaces": interfaces.get((switch.id, group.name), []),
            },
            creation=group.creation,
        )
        for group, switch in rows
    ]


def _path(db: Session, switch: VSwitch, name: str) -> paths.Path:
    """(datacenter, cluster, node, vSwitch, port group name)."""
    return (*vswitches.path_of(db, switch), name)


# Reading ----------------------------------------------------------------------------------


def list_port_groups(
    db: Session, principal: Principal, *, node_id: str | None = None
) -> list[PortGroupView]:
    if node_id is not None:
        vswitches.node_of(db, principal, node_id)
    rows = [(g, s) for g, s in q.port_groups(db, principal.scope, node_id=node_id)]
    check = principal.check_for(Action.PORT_GROUP_READ)
    if check is not None:
        rows = [
            (g, s) for g, s in rows if check(full_path(g.organization_id, _path(db, s, g.name)))
        ]
    return _views(db, principal, rows)


def get_port_group(db: Session, principal: Principal, vswitch_id: str, name: str) -> PortGroupView:
    group, switch = _load(db, principal, vswitch_id, name, Action.PORT_GROUP_READ)
    return _views(db, principal, [(group, switch)])[0]


# Changing ---------------------------------------------------------------------------------


def create_port_group(
    db: Session,
    principal: Principal,
    vswitch_id: str,
    *,
    name: str,
    description: str = "",
    type: int,
    data: dict[str, Any] | None = None,
    firewall_rules: Sequence[Any] = (),
) -> PortGroup:
    switch = vswitches.load(db, principal, vswitch_id, Action.VSWITCH_READ)
    authorize(principal, Action.PORT_GROUP_CREATE, switch.organization_id, _path(db, switch, name))
    PORT_GROUP_NAME.check(name)
    check_description(description)
    _check_no_firewall(firewall_rules)
    setting = check_setting(type, data or {})
    if q.get_port_group(db, switch.id, name, None) is not None:
        raise Conflict(
            f"vSwitch {switch.name} already has a port group named {name!r}; port group "
            "names are unique in a vSwitch, so choose another name.",
            field="name",
        )
    group = PortGroup(
        vswitch_id=switch.id,
        name=name,
        organization_id=switch.organization_id,
        description=description,
        type=setting.type,
        vlan_id=setting.vlan_id,
        trunk_vlans=setting.trunk_vlans,
        native_vlan_id=setting.native_vlan_id,
        firewall_rules=[],
        creation=clock.now(),
    )
    db.add(group)
    db.flush()
    record_change(
        db,
        principal,
        Action.PORT_GROUP_CREATE,
        event=EventKind.PORT_GROUP_CREATED,
        target_id=switch.id,
        organization_id=switch.organization_id,
        data={"node_id": switch.node_id, "vswitch_id": switch.id, "name": name},
        message=f"Port group {name} on vSwitch {switch.name}: {describe(setting)}",
    )
    queue_sync(db, switch.node_id)
    return group


def update_port_group(
    db: Session,
    principal: Principal,
    vswitch_id: str,
    name: str,
    *,
    description: str | Keep = KEEP,
    type: int | Keep = KEEP,
    data: dict[str, Any] | Keep = KEEP,
    firewall_rules: Sequence[Any] | Keep = KEEP,
) -> PortGroupView:
    """Change what is given; a new VLAN setting reaches the running instances' ports
    through the node's sync."""
    group, switch = _load(db, principal, vswitch_id, name, Action.PORT_GROUP_UPDATE)
    changed: list[str] = []
    if not isinstance(description, Keep):
        group.description = check_description(description)
        changed.append("description")
    if not isinstance(firewall_rules, Keep):
        _check_no_firewall(firewall_rules)
    if not isinstance(type, Keep) or not isinstance(data, Keep):
        setting = check_setting(
            group.type if isinstance(type, Keep) else type,
            _data(group) if isinstance(data, Keep) else data,
        )
        group.type, group.vlan_id = setting.type, setting.vlan_id
        group.trunk_vlans, group.native_vlan_id = setting.trunk_vlans, setting.native_vlan_id
        changed.append(describe(setting))
    if changed:
        record_change(
            db,
            principal,
            Action.PORT_GROUP_UPDATE,
            event=EventKind.PORT_GROUP_UPDATED,
            target_id=switch.id,
            organization_id=switch.organization_id,
            data={"node_id": switch.node_id, "vswitch_id": switch.id, "name": name},
            message=f"Port group {name} on vSwitch {switch.name}: " + ", ".join(changed),
        )
        queue_sync(db, switch.node_id)
    db.flush()
    return _views(db, principal, [(group, switch)])[0]


def delete_port_group(
    db: Session,
    principal: Principal,
    vswitch_id: str,
    name: str,
    *,
    confirm: str | None = None,
) -> None:
    group, switch = _load(db, principal, vswitch_id, name, Action.PORT_GROUP_DELETE)
    check_confirm(confirm, f"Deleting port group {name} of vSwitch {switch.name}")
    interfaces = q.interfaces_on(db, switch.id, name)
    if interfaces:
        raise Conflict(
            f"Port group {name} of vSwitch {switch.name} is in use by "
            f"{vswitches.describe_interfaces(interfaces)}. Remove those interfaces first."
        )
    record_change(
        db,
        principal,
        Action.PORT_GROUP_DELETE,
        event=EventKind.PORT_GROUP_DELETED,
        target_id=switch.id,
        organization_id=switch.organization_id,
        data={"node_id": switch.node_id, "vswitch_id": switch.id, "name": name},
        message=f"Port group {name} on vSwitch {switch.name}",
    )
    db.delete(group)
    db.flush()


def port_group_of(db: Session, vswitch_id: str, name: str) -> PortGroup | None:
    """For the agent and the interface services: the group, read as the node."""
    return q.get_port_group(db, vswitch_id, name, None)


# Checks -----------------------------------------------------------------------------------


def describe(setting: VlanSetting) -> str:
    if setting.type == PortGroupType.ACCESS:
        return f"access VLAN {setting.vlan_id}"
    if setting.type == PortGroupType.TRUNK:
        native = f", native VLAN {setting.native_vlan_id}" if setting.native_vlan_id else ""
        return "trunk of VLANs " + ", ".join(map(str, setting.trunk_vlans)) + native
    return "untagged"


def _vlan(value: object, field: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be an integer {VLAN_MIN}-{VLAN_MAX}.", field=field)
    if not VLAN_MIN <= value <= VLAN_MAX:
        reserved = " (VLAN 0 and 4095 are reserved by 802.1Q)" if value in (0, 4095) else ""
        raise InvalidInput(
            f"{what} {value} is out of range: VLAN IDs are {VLAN_MIN}-{VLAN_MAX}{reserved}.",
            field=field,
        )
    return value


def check_setting(type: int, data: dict[str, Any]) -> VlanSetting:
    """The VLAN setting of ``config.type`` and ``config.data``; fields a type doesn't use
    must be absent or null (a trunk list on an access group is a client's mistake)."""
    try:
        kind = PortGroupType(type)
    except ValueError:
        raise InvalidInput(
            f"Port group type {type} is not valid: 1 access, 2 trunk or 3 untagged.",
            field="config.type",
        ) from None
    given_type = data.get("_type")
    if given_type is not None and given_type != TYPE_NAMES[kind]:
        raise InvalidInput(
            f"config.data._type {given_type!r} contradicts config.type {int(kind)} "
            f"({TYPE_NAMES[kind]}); leave _type out or make them agree.",
            field="config.data._type",
        )
    unknown = set(data) - {"_type", "vlan_id", "trunk_vlans", "native_vlan_id"}
    if unknown:
        raise InvalidInput(
            f"Unknown port group setting(s): {', '.join(sorted(unknown))}.",
            field=f"config.data.{sorted(unknown)[0]}",
        )
    vlan_id, trunks, native = (
        data.get("vlan_id"),
        data.get("trunk_vlans"),
        data.get("native_vlan_id"),
    )
    if kind == PortGroupType.ACCESS:
        if vlan_id is None:
            raise InvalidInput(
                "An access port group needs a vlan_id (1-4094).", field="config.data.vlan_id"
            )
        _unused(trunks, "trunk_vlans", kind)
        _unused(native, "native_vlan_id", kind)
        return VlanSetting(kind, _vlan(vlan_id, "config.data.vlan_id", "VLAN ID"), [], None)
    if kind == PortGroupType.TRUNK:
        _unused(vlan_id, "vlan_id", kind)
        if not isinstance(trunks, list) or not trunks:
            raise InvalidInput(
                "A trunk port group needs a non-empty trunk_vlans list of VLAN IDs (1-4094).",
                field="config.data.trunk_vlans",
            )
        checked = sorted(
            {_vlan(v, f"config.data.trunk_vlans[{i}]", "Trunk VLAN") for i, v in enumerate(trunks)}
        )
        native_id = (
            None if native is None else _vlan(native, "config.data.native_vlan_id", "Native VLAN")
        )
        return VlanSetting(kind, None, checked, native_id)
    _unused(vlan_id, "vlan_id", kind)
    _unused(trunks, "trunk_vlans", kind)
    _unused(native, "native_vlan_id", kind)
    return VlanSetting(kind, None, [], None)


def _unused(value: object, key: str, kind: PortGroupType) -> None:
    if value is not None and value != []:
        raise InvalidInput(
            f"An {TYPE_NAMES[kind]} port group has no {key}; leave it out.",
            field=f"config.data.{key}",
        )


def _check_no_firewall(rules: Sequence[Any]) -> None:
    if rules:
        raise InvalidInput(
            "Port group firewall rules are not supported yet: send an empty firewall_rules list.",
            field="config.firewall_rules",
        )


def _load(
    db: Session, principal: Principal, vswitch_id: str, name: str, action: Action
) -> tuple[PortGroup, VSwitch]:
    switch = q.get_vswitch(db, vswitch_id, principal.scope)
    if switch is None:
        raise NotFound(f"vSwitch {vswitch_id} does not exist.", field="vswitch_id")
    group = q.get_port_group(db, switch.id, name, principal.scope)
    if group is None:
        raise NotFound(f"vSwitch {switch.name} has no port group named {name!r}.", field="name")
    authorize(principal, action, group.organization_id, _path(db, switch, name))
    return group, switch
