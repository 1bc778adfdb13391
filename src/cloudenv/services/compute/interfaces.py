"""Instance network interfaces: the checked ``instance_devices`` row of a NIC.

A NIC joins a port group of a vSwitch of the instance's node. Its row is of type NIC:
``resource_id`` the vSwitch, ``mac`` the guest's MAC, metadata ``{port_group, model}``
(what the designer and the network.sync handler read). A MAC is given or generated in
QEMU's locally administered range ``52:54:00``; either way it is unique in the cluster,
whichever tenant's instance holds it (two guests with one MAC on a switch steal each
other's traffic, and an instance may move between the cluster's nodes).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import DeviceType
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.services.access import Principal
from cloudenv.store.queries import compute as q
from cloudenv.store.queries import network as qn
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Instance, InstanceDevice, Node

MODELS = ("virtio", "e1000")
MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
#: QEMU/KVM's locally administered prefix, as libvirt generates.
MAC_PREFIX = "52:54:00"
_TYPE = "network_interface"


def nic_row(
    db: Session,
    principal: Principal,
    instance: Instance,
    node: Node,
    data: Mapping[str, object],
    *,
    field: str,
    taken: set[str],
) -> InstanceDevice:
    """The NIC row for ``data`` (``{vswitch_id, port_group_name, mac?, model?}``), its
    fields named ``<field>.<key>`` in refusals. ``taken`` holds the MACs already used in
    the cluster (this request's included); the new one is added to it."""
    vswitch_id = _text(data, "vswitch_id", field)
    vswitch = qn.get_vswitch(db, vswitch_id, principal.scope)
    if vswitch is None:
        raise NotFound(f"vSwitch {vswitch_id} does not exist.", field=f"{field}.vswitch_id")
    if vswitch.node_id != node.id:
        raise InvalidInput(
            f"vSwitch {vswitch.name} ({vswitch.id}) is on node {vswitch.node_id}, but "
            f"instance {instance.name} runs on node {node.id}; choose a vSwitch of that node.",
            field=f"{field}.vswitch_id",
        )
    group_name = _text(data, "port_group_name", field)
    if qn.get_port_group(db, vswitch.id, group_name, principal.scope) is None:
        raise NotFound(
            f"vSwitch {vswitch.name} has no port group named {group_name!r}.",
            field=f"{field}.port_group_name",
        )
    model = data.get("model") or "virtio"
    if model not in MODELS:
        raise InvalidInput(
            f"NIC model {model!r} is not one of {', '.join(MODELS)}.", field=f"{field}.model"
        )
    mac = _mac(data.get("mac"), taken, field=f"{field}.mac")
    taken.add(mac)
    return InstanceDevice(
        instance_id=instance.id,
        type=DeviceType.NIC,
        resource_id=vswitch.id,
        mac=mac,
        metadata_={"_type": _TYPE, "port_group": group_name, "model": str(model)},
        creation=clock.now(),
    )


def cluster_macs(db: Session, node: Node) -> set[str]:
    """Every MAC of the cluster's instances, whoever's: uniqueness is cluster-wide."""
    return q.macs_in_cluster(db, node.cluster_id, UNSCOPED)


def _text(data: Mapping[str, object], key: str, field: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"'{field}.{key}' is required (a string).", field=f"{field}.{key}")
    return value


def _mac(value: object, taken: set[str], *, field: str) -> str:
    if value is None or value == "":
        while True:  # 2^24 addresses: a clash is rare, and then another draw is cheap
            tail = secrets.token_bytes(3)
            mac = f"{MAC_PREFIX}:{tail[0]:02x}:{tail[1]:02x}:{tail[2]:02x}"
            if mac not in taken:
                return mac
    if not isinstance(value, str) or MAC.fullmatch(value) is None:
        raise InvalidInput(
            f"MAC {value!r} is not valid; write six hex pairs separated by colons, "
            "e.g. 52:54:00:12:34:56.",
            field=field,
        )
    mac = value.lower()
    if int(mac[:2], 16) & 1:
        raise InvalidInput(
            f"MAC {mac} is a multicast address; a NIC needs a unicast one (the first "
            "byte even, e.g. 52:54:00:12:34:56).",
            field=field,
        )
    if mac == "00:00:00:00:00:00":
        raise InvalidInput("MAC 00:00:00:00:00:00 can't be used by a NIC.", field=field)
    if mac in taken:
        raise Conflict(
            f"MAC {mac} is already used by a NIC in this cluster; give another, or leave "
            "it out to have one generated.",
            field=field,
        )
    return mac
