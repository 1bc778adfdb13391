"""A node's NICs, its standalone vSwitches and their port groups. Changes are written here
and applied to Open vSwitch by the node's agent (``network.sync``)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from cloudenv.api.confirm import ConfirmQuery
from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.common import Created, Empty
from cloudenv.api.schemas.network import (
    Nic,
    NicList,
    PortGroup,
    PortGroupCreate,
    PortGroupUpdate,
    VSwitch,
    VSwitchCreate,
    VSwitchUpdate,
)
from cloudenv.services.network import nics, port_groups, vswitches
from cloudenv.services.partial import KEEP

router = APIRouter(tags=["network"])

SWITCHES = "/v1/networks/vswitches/standalone"


@router.get("/v1/nodes/{node_id}/network/interfaces", response_model=NicList, name="nic.list")
def list_nics(node_id: str, db: Db, principal: CurrentPrincipal) -> NicList:
    """The node's NICs as its agent last read them (about once a minute)."""
    return NicList(networks=[Nic.model_validate(n) for n in nics.list_nics(db, principal, node_id)])


@router.get(SWITCHES, response_model=list[VSwitch], name="vswitch.list")
def list_vswitches(
    db: Db,
    principal: CurrentPrincipal,
    node_id: str | None = Query(default=None, description="Only this node's."),
) -> list[VSwitch]:
    return [
        VSwitch.model_validate(v) for v in vswitches.list_vswitches(db, principal, node_id=node_id)
    ]


@router.post(SWITCHES, response_model=Created, name="vswitch.create")
def create_vswitch(body: VSwitchCreate, db: Db, principal: CurrentPrincipal) -> Created:
    """Pending until the node's agent has made the bridge (``status``)."""
    security = body.config.security
    switch = vswitches.create_vswitch(
        db,
        principal,
        node_id=body.node_id,
        name=body.name,
        description=body.description,
        mtu=body.mtu,
        uplinks=body.config.uplinks,
        security=security.model_dump() if security is not None else None,
        force=body.force,
    )
    return Created(id=switch.id)


# Declared before /{vswitch_id} so that "port_groups" isn't taken for an ID.
@router.get(f"{SWITCHES}/port_groups", response_model=list[PortGroup], name="port_group.list")
def list_port_groups(
    db: Db,
    principal: CurrentPrincipal,
    node_id: str | None = Query(default=None, description="Only this node's vSwitches'."),
) -> list[PortGroup]:
    return [
        PortGroup.model_validate(g)
        for g in port_groups.list_port_groups(db, principal, node_id=node_id)
    ]


@router.get(f"{SWITCHES}/{{vswitch_id}}", response_model=VSwitch, name="vswitch.get")
def get_vswitch(vswitch_id: str, db: Db, principal: CurrentPrincipal) -> VSwitch:
    return VSwitch.model_validate(vswitches.get_vswitch(db, principal, vswitch_id))


@router.patch(f"{SWITCHES}/{{vswitch_id}}", response_model=VSwitch, name="vswitch.update")
def update_vswitch(
    vswitch_id: str, body: VSwitchUpdate, db: Db, principal: CurrentPrincipal
) -> VSwitch:
    """What is sent changes (``mtu: null`` lets the uplinks keep their own)."""
    sent = body.model_fields_set
    config = body.config
    config_sent = config.model_fields_set if config is not None else set()
    view = vswitches.update_vswitch(
        db,
        principal,
        vswitch_id,
        description=body.description
        if "description" in sent and body.description is not None
        else KEEP,
        mtu=body.mtu if "mtu" in sent else KEEP,
        uplinks=config.uplinks
        if config is not None and "uplinks" in config_sent and config.uplinks is not None
        else KEEP,
        security=config.security.model_dump()
        if config is not None and config.security is not None
        else KEEP,
        force=body.force,
    )
    return VSwitch.model_validate(view)


@router.delete(f"{SWITCHES}/{{vswitch_id}}", response_model=Empty, name="vswitch.delete")
def delete_vswitch(
    vswitch_id: str, db: Db, principal: CurrentPrincipal, confirm: ConfirmQuery = None
) -> Empty:
    """Refused while port groups or instance interfaces use it; the agent removes the
    bridge."""
    vswitches.delete_vswitch(db, principal, vswitch_id, confirm=confirm)
    return Empty()


@router.post(
    f"{SWITCHES}/{{vswitch_id}}/port_groups", response_model=Empty, name="port_group.create"
)
def create_port_group(
    vswitch_id: str, body: PortGroupCreate, db: Db, principal: CurrentPrincipal
) -> Empty:
    port_groups.create_port_group(
        db,
        principal,
        vswitch_id,
        name=body.name,
        description=body.description,
        type=body.config.type,
        data=body.config.data.given(),
        firewall_rules=body.config.firewall_rules,
    )
    return Empty()


@router.patch(
    f"{SWITCHES}/{{vswitch_id}}/port_groups/{{name}}",
    response_model=PortGroup,
    name="port_group.update",
)
def update_port_group(
    vswitch_id: str, name: str, body: PortGroupUpdate, db: Db, principal: CurrentPrincipal
) -> PortGroup:
    """A new VLAN setting is applied live to the ports of the running instances on it."""
    config = body.config
    view = port_groups.update_port_group(
        db,
        principal,
        vswitch_id,
        name,
        description=body.description if body.description is not None else KEEP,
        type=config.type if config is not None else KEEP,
        data=config.data.given() if config is not None else KEEP,
        firewall_rules=config.firewall_rules if config is not None else KEEP,
    )
    return PortGroup.model_validate(view)


@router.delete(
    f"{SWITCHES}/{{vswitch_id}}/port_groups/{{name}}",
    response_model=Empty,
    name="port_group.delete",
)
def delete_port_group(
    vswitch_id: str,
    name: str,
    db: Db,
    principal: CurrentPrincipal,
    confirm: ConfirmQuery = None,
) -> Empty:
    """Refused while instance interfaces use it."""
    port_groups.delete_port_group(db, principal, vswitch_id, name, confirm=confirm)
    return Empty()
