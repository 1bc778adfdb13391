"""NICs, vSwitches and port groups on the wire (API-COMPAT: vSwitch type 0 standalone,
1 distributed; port group type 1 access, 2 trunk, 3 untagged)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cloudenv.api.schemas.common import RequestBody, Schema, Timestamp


class Nic(Schema):
    name: str = Field(examples=["eth1"])
    mac: str
    unused: bool = Field(
        description="No vSwitch has it as an uplink and it carries no address of the node: "
        "free to become an uplink."
    )
    misconfigured: bool = Field(
        description="An uplink whose link is down, whose MTU is below its vSwitch's, or that "
        "Open vSwitch has on another bridge; reason says which."
    )
    reason: str = Field(description="Why it is misconfigured; empty when it is not.")
    mtu: int
    vswitch: str | None = Field(description="The vSwitch (name) it is an uplink of.")
    speed: int | None = Field(description="Mbit/s; null when down or unknown.")
    link: bool = Field(description="Carrier: the link is up.")
    driver: str
    addresses: list[str] = Field(
        description='The node\'s addresses on it ("10.0.0.5/24"): joining it to a vSwitch '
        "needs force."
    )


class NicList(Schema):
    networks: list[Nic]


class MacTable(Schema):
    maximum: int | None = Field(description="MAC learning table size; null: OVS's (2048).")
    aging_time: int | None = Field(description="Seconds; null: OVS's (300).")


class Security(Schema):
    mac_table: MacTable
    firewall_rules: list[Any]


class VSwitchConfig(Schema):
    security: Security
    uplinks: list[str] = Field(description="NIC names; several make an active-backup bond.")


SwitchStatusText = Literal["pending", "ready", "error"]


class VSwitch(Schema):
    id: str = Field(examples=["vsw-qthm_iLrflJ_DtSS1l4Gx"])
    type: int = Field(description="0 standalone, 1 distributed.")
    node_id: str
    cluster_id: str
    name: str = Field(examples=["svswitch10"])
    description: str
    mtu: int | None = Field(description="null: the uplinks keep their own.")
    config: VSwitchConfig
    creation: Timestamp
    port_group_count: int
    uplink_count: int
    status: SwitchStatusText = Field(
        description="pending (the node hasn't applied the latest change yet), ready, or "
        "error (message says why)."
    )
    message: str


class MacTableIn(RequestBody):
    maximum: int | None = Field(default=None, ge=10, le=1_000_000, examples=[2048])
    aging_time: int | None = Field(default=None, ge=1, le=86_400, examples=[300])


class SecurityIn(RequestBody):
    mac_table: MacTableIn | None = None
    firewall_rules: list[dict[str, Any]] = Field(
        default_factory=list, description="Not supported yet: must be empty."
    )


class VSwitchConfigIn(RequestBody):
    uplinks: list[str] = Field(
        default_factory=list,
        description="NICs of the node: none (an internal switch), one, or several (an "
        "active-backup bond).",
        examples=[["eth1"]],
    )
    security: SecurityIn | None = None


class VSwitchCreate(RequestBody):
    node_id: str
    name: str = Field(
        description="svswitchN (N a positive integer); unique in the node's cluster.",
        examples=["svswitch10"],
    )
    description: str = ""
    mtu: int | None = Field(default=None, ge=68, le=9216, examples=[1500])
    config: VSwitchConfigIn = Field(default_factory=VSwitchConfigIn)
    force: bool = Field(
        default=False,
        description="Allow an uplink that carries an address of the node (its management "
        "NIC, most often): it loses that address.",
    )


class VSwitchConfigUpdate(RequestBody):
    uplinks: list[str] | None = Field(default=None, description="Absent: unchanged.")
    security: SecurityIn | None = Field(default=None, description="Absent: unchanged.")


class VSwitchUpdate(RequestBody):
    description: str | None = None
    mtu: int | None = Field(
        default=None, ge=68, le=9216, description="null: the uplinks keep their own."
    )
    config: VSwitchConfigUpdate | None = None
    force: bool = False


class PortGroupData(Schema):
    type_: str = Field(alias="_type", description="access, trunk or untagged.")
    vlan_id: int | None
    trunk_vlans: list[int]
    native_vlan_id: int | None


class PortGroupInterface(Schema):
    name: str
    mac_address: str
    ipv4: str | None
    ipv6: str | None


class PortGroupConfig(Schema):
    type: int = Field(description="1 access, 2 trunk, 3 untagged.")
    data: PortGroupData
    firewall_rules: list[Any]
    interfaces: list[PortGroupInterface] = Field(description="The instance NICs on it.")


class PortGroup(Schema):
    vswitch_id: str
    vswitch_name: str
    node_id: str
    name: str
    description: str
    config: PortGroupConfig
    creation: Timestamp


class PortGroupDataIn(RequestBody):
    type_: Literal["access", "trunk", "untagged"] | None = Field(
        default=None, alias="_type", description="Optional; must agree with config.type."
    )
    vlan_id: int | None = Field(default=None, description="access: 1-4094.", examples=[10])
    trunk_vlans: list[int] | None = Field(
        default=None, description="trunk: the VLANs it carries (1-4094 each)."
    )
    native_vlan_id: int | None = Field(
        default=None, description="trunk: the VLAN sent untagged, if any."
    )

    def given(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_unset=True)


class PortGroupConfigIn(RequestBody):
    type: int = Field(description="1 access, 2 trunk, 3 untagged.", examples=[1])
    data: PortGroupDataIn = Field(default_factory=PortGroupDataIn)
    firewall_rules: list[dict[str, Any]] = Field(
        default_factory=list, description="Not supported yet: must be empty."
    )


class PortGroupCreate(RequestBody):
    name: str = Field(description="Unique in the vSwitch.", examples=["Production"])
    description: str = ""
    config: PortGroupConfigIn


class PortGroupUpdate(RequestBody):
    description: str | None = None
    config: PortGroupConfigIn | None = None
