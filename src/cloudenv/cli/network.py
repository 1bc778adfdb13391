"""``cloudenv vswitch …``, ``cloudenv portgroup …`` and ``cloudenv nic list``: a node's
vSwitches (Open vSwitch bridges), their port groups (VLANs) and its NICs. Deletes ask
for the word DESTROY."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cloudenv.api.schemas.network import (
    PortGroupCreate,
    PortGroupUpdate,
    VSwitchCreate,
    VSwitchUpdate,
)
from cloudenv.cli.client import ApiClient, request_body, segment
from cloudenv.cli.output import (
    confirm_destructive,
    fail,
    print_json,
    print_record,
    print_table,
    say,
)

vswitch_app = typer.Typer(help="A node's vSwitches (svswitchN).", no_args_is_help=True)
portgroup_app = typer.Typer(help="Port groups (VLANs) of a vSwitch.", no_args_is_help=True)
nic_app = typer.Typer(help="A node's network interfaces.", no_args_is_help=True)

SWITCHES = "/v1/networks/vswitches/standalone"
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")]
NodeOpt = Annotated[str | None, typer.Option("--node", help="Only this node's.")]
Uplinks = Annotated[
    list[str] | None,
    typer.Option("--uplink", help="A NIC of the node (repeat it: several make a bond)."),
]
PG_TYPES = {"access": 1, "trunk": 2, "untagged": 3}


def _switch_row(switch: dict[str, Any]) -> dict[str, Any]:
    return {**switch, "uplinks": ", ".join(switch["config"]["uplinks"]) or "-"}


SWITCH_COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("node_id", "Node"),
    ("status", "Status"),
    ("uplink_count", "Uplink Count"),
    ("uplinks", "Uplinks"),
    ("port_group_count", "Port Groups"),
    ("mtu", "MTU"),
    ("description", "Description"),
]


@vswitch_app.command("list")
def vswitch_list(node: NodeOpt = None, json_: Json = False) -> None:
    switches = ApiClient.from_login().get(SWITCHES, node_id=node)
    if json_:
        return print_json(switches)
    print_table([_switch_row(s) for s in switches], SWITCH_COLUMNS)


def _show(switch: dict[str, Any]) -> None:
    table = switch["config"]["security"]["mac_table"]
    record = {k: v for k, v in _switch_row(switch).items() if k != "config"}
    print_record(
        {
            **record,
            "mac_table.maximum": table["maximum"],
            "mac_table.aging_time": table["aging_time"],
        }
    )


@vswitch_app.command("show")
def vswitch_show(vswitch_id: str, json_: Json = False) -> None:
    switch = ApiClient.from_login().get(f"{SWITCHES}/{segment(vswitch_id)}")
    if json_:
        return print_json(switch)
    _show(switch)


def _security(maximum: int | None, aging: int | None) -> dict[str, Any] | None:
    if maximum is None and aging is None:
        return None
    return {"mac_table": {"maximum": maximum, "aging_time": aging}}


MacMax = Annotated[int | None, typer.Option("--mac-table-size", help="MAC table entries.")]
Aging = Annotated[int | None, typer.Option("--mac-aging", help="MAC aging time, seconds.")]
Force = Annotated[
    bool,
    typer.Option("--force", help="Allow an uplink carrying the node's address (it loses it)."),
]


@vswitch_app.command("create")
def vswitch_create(
    node_id: str,
    name: Annotated[str, typer.Argument(help="svswitchN, unique in the cluster.")],
    uplink: Uplinks = None,
    mtu: Annotated[int | None, typer.Option(help="68-9216.")] = None,
    description: Annotated[str | None, typer.Option()] = None,
    mac_table_size: MacMax = None,
    mac_aging: Aging = None,
    force: Force = False,
    json_: Json = False,
) -> None:
    """Create a vSwitch on the node; its agent makes the bridge."""
    config: dict[str, Any] = {"uplinks": uplink or []}
    security = _security(mac_table_size, mac_aging)
    if security is not None:
        config["security"] = security
    body = request_body(
        VSwitchCreate,
        node_id=node_id,
        name=name,
        description=description,
        mtu=mtu,
        config=config,
        force=force or None,
    )
    created = ApiClient.from_login().post(SWITCHES, body)
    if json_:
        return print_json(created)
    say(f"Created vSwitch {name} ({created['id']}).")


@vswitch_app.command("update")
def vswitch_update(
    vswitch_id: str,
    uplink: Uplinks = None,
    no_uplinks: Annotated[
        bool, typer.Option("--no-uplinks", help="Make it internal (no uplink).")
    ] = False,
    mtu: Annotated[int | None, typer.Option(help="68-9216.")] = None,
    description: Annotated[str | None, typer.Option()] = None,
    mac_table_size: MacMax = None,
    mac_aging: Aging = None,
    force: Force = False,
) -> None:
    """Change what is given (uplinks replace the current ones)."""
    config: dict[str, Any] = {}
    if uplink or no_uplinks:
        config["uplinks"] = uplink or []
    security = _security(mac_table_size, mac_aging)
    if security is not None:
        config["security"] = security
    body = request_body(
        VSwitchUpdate,
        description=description,
        mtu=mtu,
        config=config or None,
        force=force or None,
    )
    if not body:
        fail(
            "Nothing to change: give --uplink, --no-uplinks, --mtu, --description or a MAC option."
        )
    _show(ApiClient.from_login().patch(f"{SWITCHES}/{segment(vswitch_id)}", body))


@vswitch_app.command("delete")
def vswitch_delete(vswitch_id: str, yes: Yes = False) -> None:
    """Delete the vSwitch (refused while port groups or instance interfaces use it)."""
    confirm_destructive(f"delete vSwitch {vswitch_id}", yes)
    ApiClient.from_login().delete(f"{SWITCHES}/{segment(vswitch_id)}", confirm="DESTROY")
    say(f"vSwitch {vswitch_id} deleted; its node removes the bridge.")


# Port groups ------------------------------------------------------------------------------


def _vlans(group: dict[str, Any]) -> str:
    data = group["config"]["data"]
    if data["_type"] == "access":
        return str(data["vlan_id"])
    if data["_type"] == "trunk":
        native = f" (native {data['native_vlan_id']})" if data["native_vlan_id"] else ""
        return ",".join(map(str, data["trunk_vlans"])) + native
    return "-"


@portgroup_app.command("list")
def portgroup_list(node: NodeOpt = None, json_: Json = False) -> None:
    groups = ApiClient.from_login().get(f"{SWITCHES}/port_groups", node_id=node)
    if json_:
        return print_json(groups)
    rows = [
        {
            **g,
            "type": g["config"]["data"]["_type"],
            "vlans": _vlans(g),
            "interfaces": len(g["config"]["interfaces"]),
        }
        for g in groups
    ]
    print_table(
        rows,
        [
            ("vswitch_name", "vSwitch"),
            ("vswitch_id", "vSwitch ID"),
            ("name", "Name"),
            ("type", "Type"),
            ("vlans", "VLANs"),
            ("interfaces", "Interfaces"),
            ("description", "Description"),
        ],
    )


def _config(
    kind: str, vlan: int | None, trunk: list[int] | None, native: int | None
) -> dict[str, Any]:
    if kind not in PG_TYPES:
        fail(f"Unknown port group type {kind!r}; use access, trunk or untagged.")
    data = {"vlan_id": vlan, "trunk_vlans": trunk or None, "native_vlan_id": native}
    return {"type": PG_TYPES[kind], "data": {k: v for k, v in data.items() if v is not None}}


Kind = Annotated[str, typer.Option("--type", help="access, trunk or untagged.")]
Vlan = Annotated[int | None, typer.Option("--vlan", help="access: the VLAN (1-4094).")]
Trunk = Annotated[list[int] | None, typer.Option("--trunk", help="trunk: a VLAN (repeat it).")]
Native = Annotated[int | None, typer.Option("--native", help="trunk: the untagged VLAN.")]


@portgroup_app.command("create")
def portgroup_create(
    vswitch_id: str,
    name: str,
    kind: Kind = "access",
    vlan: Vlan = None,
    trunk: Trunk = None,
    native: Native = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    body = request_body(
        PortGroupCreate,
        name=name,
        description=description,
        config=_config(kind, vlan, trunk, native),
    )
    ApiClient.from_login().post(f"{SWITCHES}/{segment(vswitch_id)}/port_groups", body)
    say(f"Created port group {name} on vSwitch {vswitch_id}.")


@portgroup_app.command("update")
def portgroup_update(
    vswitch_id: str,
    name: str,
    kind: Annotated[str | None, typer.Option("--type", help="access, trunk or untagged.")] = None,
    vlan: Vlan = None,
    trunk: Trunk = None,
    native: Native = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change the description, or the VLAN setting (give --type with its VLANs); running
    instances' ports get it live."""
    config = _config(kind, vlan, trunk, native) if kind is not None else None
    body = request_body(PortGroupUpdate, description=description, config=config)
    if not body:
        fail("Nothing to change: give --description, or --type with its VLANs.")
    group = ApiClient.from_login().patch(
        f"{SWITCHES}/{segment(vswitch_id)}/port_groups/{segment(name)}", body
    )
    say(f"Port group {name}: {group['config']['data']['_type']} {_vlans(group)}.")


@portgroup_app.command("delete")
def portgroup_delete(vswitch_id: str, name: str, yes: Yes = False) -> None:
    """Delete the port group (refused while instance interfaces use it)."""
    confirm_destructive(f"delete port group {name} of vSwitch {vswitch_id}", yes)
    ApiClient.from_login().delete(
        f"{SWITCHES}/{segment(vswitch_id)}/port_groups/{segment(name)}", confirm="DESTROY"
    )
    say(f"Port group {name} deleted.")


# NICs -------------------------------------------------------------------------------------


@nic_app.command("list")
def nic_list(node_id: str, json_: Json = False) -> None:
    """The node's NICs as its agent last read them."""
    nics = ApiClient.from_login().get(f"/v1/nodes/{segment(node_id)}/network/interfaces")
    if json_:
        return print_json(nics)
    rows = [
        {
            **n,
            "link": "up" if n["link"] else "down",
            "addresses": ", ".join(n["addresses"]),
            "state": "misconfigured: " + n["reason"]
            if n["misconfigured"]
            else ("unused" if n["unused"] else "in use"),
        }
        for n in nics["networks"]
    ]
    print_table(
        rows,
        [
            ("name", "Name"),
            ("mac", "MAC"),
            ("link", "Link"),
            ("speed", "Speed"),
            ("mtu", "MTU"),
            ("vswitch", "vSwitch"),
            ("addresses", "Addresses"),
            ("state", "State"),
            ("driver", "Driver"),
        ],
    )
