"""The network driver contract: the same assertions against the fake (unit) and against
Open vSwitch (integration; starts OVS with scripts/start-ovs.sh when it is not running).

The OVS run makes veth pairs in the root namespace (their ends are the "NICs"), a bridge
that isn't cloudenv's, and vSwitches with names no other run uses; it removes them all
afterwards, whatever happened. An instance's port is emulated as libvirt makes it: a port
whose Interface records the guest's MAC in external_ids:attached-mac.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cloudenv.drivers.errors import Conflict, InvalidInput, NotFound
from cloudenv.drivers.network.base import (
    Datapath,
    NetworkDriver,
    NicInfo,
    PortInfo,
    PortVlan,
    SwitchSpec,
    VlanMode,
)
from cloudenv.drivers.network.fake import FakeNetworkDriver

ALL_VLANS = PortVlan(VlanMode.TRUNK)


@dataclass
class Harness:
    driver: NetworkDriver
    nics: tuple[str, str, str]  # free NICs to use as uplinks
    spare: str  # a NIC that is a port of the foreign bridge
    foreign: str  # a bridge cloudenv didn't make
    new_bridge: Callable[[], str]  # a vSwitch name nobody uses
    plug: Callable[[str], str]  # joins an "instance" to the bridge; returns its MAC
    revision: Callable[[], int]  # grows when the driver changes anything
    foreign_state: Callable[[], object]  # the foreign bridge as stored
    datapath: Datapath  # what this node must report

    def nic(self, name: str) -> NicInfo:
        found = [n for n in self.driver.list_nics() if n.name == name]
        assert found, f"list_nics() lacks {name}"
        return found[0]


def _fake_harness() -> Harness:
    nics = [
        NicInfo(f"eth{i}", f"52:54:00:00:00:0{i}", 1500, 1000, True, "e1000e", None)
        for i in range(4)
    ]
    driver = FakeNetworkDriver(nics)
    driver.add_foreign_bridge("br-host", ["eth3"])
    counter = iter(range(1, 1000))
    taps = iter(range(1000))

    def plug(bridge: str) -> str:
        n = next(taps)
        mac = f"52:54:00:ce:01:{n:02x}"
        driver.plug(bridge, f"vnet{n}", mac)
        return mac

    def foreign_state() -> object:
        bridge = driver.bridges["br-host"]
        return (bridge.ours, bridge.spec, {n: vars(p).copy() for n, p in bridge.ports.items()})

    return Harness(
        driver,
        ("eth0", "eth1", "eth2"),
        "eth3",
        "br-host",
        lambda: f"svswitch{next(counter)}",
        plug,
        lambda: driver.revision,
        foreign_state,
        Datapath.NETDEV,
    )


def _ovs_harness() -> Iterator[Harness]:
    from cloudenv.drivers.network.ovs import OvsNetworkDriver
    from tests.support.ovs import Lab, ensure_ovs, vsctl

    ensure_ovs()
    lab = Lab()
    try:
        nics = tuple(lab.veth(f"u{i}")[0] for i in range(3))
        spare = lab.veth("u3")[0]
        foreign = lab.foreign_bridge(spare)
        taps = iter(range(100))

        def plug(bridge: str) -> str:
            tap, guest = lab.veth(f"t{next(taps)}")
            mac = Path(f"/sys/class/net/{guest}/address").read_text().strip()
            vsctl(
                "add-port", bridge, tap, "--", "set", "Interface", tap,
                f'external_ids:attached-mac="{mac}"',
            )  # fmt: skip
            return mac

        def foreign_state() -> object:
            def rows(table: str, columns: str, *records: str) -> object:
                out = vsctl("--format=json", f"--columns={columns}", "list", table, *records)
                return json.loads(out)["data"]

            return (
                rows("Bridge", "_uuid,name,ports,external_ids,other_config", foreign),
                rows("Port", "_uuid,name,interfaces,tag,trunks,vlan_mode,external_ids", spare),
                rows("Interface", "_uuid,name,external_ids,mtu_request", spare),
            )

        system = Path("/sys/module/openvswitch").is_dir()
        driver = OvsNetworkDriver()
        yield Harness(
            driver,
            (nics[0], nics[1], nics[2]),
            spare,
            foreign,
            lab.bridge_name,
            plug,
            # (Not next_cfg: other test processes' OVS transactions bump it too.)
            lambda: driver.transactions,
            foreign_state,
            Datapath.SYSTEM if system else Datapath.NETDEV,
        )
    finally:
        lab.close()
    assert lab.leftovers() == []


@pytest.fixture(
    params=[
        pytest.param("fake", marks=pytest.mark.unit),
        pytest.param("ovs", marks=pytest.mark.integration),
    ]
)
def h(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "fake":
        yield _fake_harness()
        return
    yield from _ovs_harness()


def test_datapath_is_the_nodes(h: Harness) -> None:
    assert h.driver.datapath() is h.datapath


def test_a_new_vswitch_with_one_uplink(h: Harness) -> None:
    name = h.new_bridge()
    h.driver.ensure_switch(SwitchSpec(name, (h.nics[0],)))
    assert name in h.driver.switches()
    assert h.driver.ports(name) == [PortInfo(h.nics[0], name, None, ALL_VLANS, True)]
    assert h.nic(h.nics[0]).vswitch == name
    assert h.nic(h.nics[1]).vswitch is None
    # The bridge's own (internal) interface is the switch's plumbing, not a NIC.
    assert name not in {n.name for n in h.driver.list_nics()}


def test_ensuring_again_changes_nothing(h: Harness) -> None:
    name = h.new_bridge()
    for spec in (
        SwitchSpec(name, (h.nics[0],), mtu=1400, mac_table_size=2048),
        SwitchSpec(name, h.nics[:2], mac_aging_seconds=600),
    ):
        h.driver.ensure_switch(spec)
        before = h.revision()
        h.driver.ensure_switch(spec)
        assert h.revision() == before, f"a second ensure of {spec} changed something"


def test_uplinks_converge_between_a_port_and_a_bond(h: Harness) -> None:
    name = h.new_bridge()
    bond = f"bond-{name}"
    h.driver.ensure_switch(SwitchSpec(name, (h.nics[0],)))
    h.driver.ensure_switch(SwitchSpec(name, h.nics[:2]))
    assert h.driver.ports(name) == [PortInfo(bond, name, None, ALL_VLANS, True)]
    assert {h.nic(n).vswitch for n in h.nics[:2]} == {name}
    h.driver.ensure_switch(SwitchSpec(name, h.nics))
    assert [p.name for p in h.driver.ports(name)] == [bond]
    assert {h.nic(n).vswitch for n in h.nics} == {name}
    h.driver.ensure_switch(SwitchSpec(name, (h.nics[2],)))
    assert [p.name for p in h.driver.ports(name)] == [h.nics[2]]
    assert [h.nic(n).vswitch for n in h.nics] == [None, None, name]
    h.driver.ensure_switch(SwitchSpec(name))
    assert h.driver.ports(name) == []
    assert [h.nic(n).vswitch for n in h.nics] == [None, None, None]
    assert name in h.driver.switches()


def test_mtu_applies_to_the_uplinks(h: Harness) -> None:
    name = h.new_bridge()
    h.driver.ensure_switch(SwitchSpec(name, h.nics[:2], mtu=1400))
    assert [h.nic(n).mtu for n in h.nics[:2]] == [1400, 1400]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (PortVlan(VlanMode.ACCESS, 10), PortVlan(VlanMode.ACCESS, 10)),
        (PortVlan(VlanMode.TRUNK, None, (20, 10, 20)), PortVlan(VlanMode.TRUNK, None, (10, 20))),
        (PortVlan(VlanMode.TRUNK, 30, (10, 20)), PortVlan(VlanMode.TRUNK, 30, (10, 20))),
        (PortVlan(VlanMode.UNTAGGED), PortVlan(VlanMode.UNTAGGED)),
    ],
    ids=["access", "trunk", "trunk-native", "untagged"],
)
def test_set_port_vlan_on_an_instance_port(h: Harness, given: PortVlan, stored: PortVlan) -> None:
    name = h.new_bridge()
    h.driver.ensure_switch(SwitchSpec(name, (h.nics[0],)))
    mac = h.plug(name)
    other = h.plug(name)
    port = h.driver.set_port_vlan(name, mac.upper(), given)
    by_name = {p.name: p for p in h.driver.ports(name)}
    assert by_name[port] == PortInfo(port, name, mac, stored, False)
    assert {p.mac for p in by_name.values()} == {None, mac, other}
    assert by_name[h.nics[0]].vlan == ALL_VLANS  # the uplink still carries every VLAN
    before = h.revision()
    assert h.driver.set_port_vlan(name, mac, given) == port
    assert h.revision() == before


def test_a_vlan_change_is_applied_to_the_port_live(h: Harness) -> None:
    name = h.new_bridge()
    h.driver.ensure_switch(SwitchSpec(name))
    mac = h.plug(name)
    port = h.driver.set_port_vlan(name, mac, PortVlan(VlanMode.ACCESS, 10))
    assert h.driver.set_port_vlan(name, mac, PortVlan(VlanMode.ACCESS, 20)) == port
    assert [p.vlan for p in h.driver.ports(name)] == [PortVlan(VlanMode.ACCESS, 20)]


def test_set_port_vlan_needs_the_port_and_the_vswitch(h: Harness) -> None:
    name = h.new_bridge()
    h.driver.ensure_switch(SwitchSpec(name))
    h.plug(name)
    with pytest.raises(NotFound, match="52:54:00:ff:ff:ff"):
        h.driver.set_port_vlan(name, "52:54:00:ff:ff:ff", PortVlan(VlanMode.ACCESS, 10))
    with pytest.raises(NotFound, match="svswitch0"):
        h.driver.set_port_vlan("svswitch0", "52:54:00:ff:ff:ff", PortVlan(VlanMode.UNTAGGED))
    with pytest.raises(NotFound, match="svswitch0"):
        h.driver.ports("svswitch0")


@pytest.mark.parametrize(
    "vlan",
    [
        PortVlan(VlanMode.ACCESS, 0),
        PortVlan(VlanMode.ACCESS, 4095),
        PortVlan(VlanMode.ACCESS),
        PortVlan(VlanMode.ACCESS, 10, (20,)),
        PortVlan(VlanMode.TRUNK, None, (10, 4095)),
        PortVlan(VlanMode.TRUNK, 0, (10,)),
        PortVlan(VlanMode.UNTAGGED, 10),
    ],
    ids=["access-0", "access-4095", "access-none", "access-trunks", "trunk-4095", "native-0",
         "untagged-tag"],
)  # fmt: skip
def test_bad_vlans_are_refused_and_change_nothing(h: Harness, vlan: PortVlan) -> None:
    name = h.new_bridge()
    h.driver.ensure_switch(SwitchSpec(name))
    mac = h.plug(name)
    before = h.revision()
    with pytest.raises(InvalidInput):
        h.driver.set_port_vlan(name, mac, vlan)
    assert h.revision() == before
    assert [p.vlan for p in h.driver.ports(name)] == [ALL_VLANS]


def test_a_bridge_not_ours_is_never_touched(h: Harness) -> None:
    state = h.foreign_state()
    assert h.foreign not in h.driver.switches()
    assert h.nic(h.spare).vswitch == h.foreign
    with pytest.raises(Conflict, match="wasn't made by cloudenv"):
        h.driver.ensure_switch(SwitchSpec(h.foreign, (h.nics[0],)))
    with pytest.raises(Conflict, match="wasn't made by cloudenv"):
        h.driver.remove_switch(h.foreign)
    with pytest.raises(Conflict, match="wasn't made by cloudenv"):
        h.driver.set_port_vlan(h.foreign, "52:54:00:ff:ff:ff", PortVlan(VlanMode.ACCESS, 10))
    name = h.new_bridge()
    with pytest.raises(Conflict, match=f"{h.spare} is already a port .* {h.foreign}"):
        h.driver.ensure_switch(SwitchSpec(name, (h.nics[0], h.spare)))
    assert name not in h.driver.switches()
    assert h.foreign_state() == state
    assert h.nic(h.nics[0]).vswitch is None


def test_an_uplink_of_another_vswitch_is_refused(h: Harness) -> None:
    first, second = h.new_bridge(), h.new_bridge()
    h.driver.ensure_switch(SwitchSpec(first, (h.nics[0],)))
    with pytest.raises(Conflict, match=f"already an uplink of vSwitch {first}"):
        h.driver.ensure_switch(SwitchSpec(second, (h.nics[1], h.nics[0])))
    assert second not in h.driver.switches()
    assert h.nic(h.nics[0]).vswitch == first


def test_an_unknown_nic_is_refused(h: Harness) -> None:
    name = h.new_bridge()
    with pytest.raises(NotFound, match="no NIC named cxnone0"):
        h.driver.ensure_switch(SwitchSpec(name, ("cxnone0",)))
    assert name not in h.driver.switches()


@pytest.mark.parametrize(
    "spec",
    [
        SwitchSpec("svswitch1", ("eth0", "eth0")),
        SwitchSpec("svswitch1", mtu=20),
        SwitchSpec("svswitch1", mac_table_size=0),
    ],
    ids=["twice", "mtu", "mac-table"],
)
def test_specs_ovs_cannot_realise_are_refused(h: Harness, spec: SwitchSpec) -> None:
    with pytest.raises(InvalidInput):
        h.driver.ensure_switch(spec)


def test_remove_switch_removes_it_and_its_ports(h: Harness) -> None:
    name = h.new_bridge()
    h.driver.ensure_switch(SwitchSpec(name, h.nics[:2]))
    h.plug(name)
    h.driver.remove_switch(name)
    h.driver.remove_switch(name)
    assert name not in h.driver.switches()
    with pytest.raises(NotFound):
        h.driver.ports(name)
    assert [h.nic(n).vswitch for n in h.nics[:2]] == [None, None]
    # The NICs are free again.
    h.driver.ensure_switch(SwitchSpec(name, (h.nics[1],)))
    assert h.nic(h.nics[1]).vswitch == name
