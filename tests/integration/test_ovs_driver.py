"""The OVS network driver carrying real traffic, in network namespaces these tests make.

Hosts are namespaces with one end of a veth pair; the other end joins a vSwitch as an
instance's tap would (a port whose Interface records the guest's MAC, found by
``set_port_vlan``). NICs are veth ends in the root namespace. The kernel here has no 802.1Q,
so a namespace can't tag frames itself: trunks are proven with OVS on both sides of a veth.
Pings use busybox (iputils isn't installed). Every test removes what it made.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cloudenv.drivers.errors import Conflict
from cloudenv.drivers.network.base import PortVlan, SwitchSpec, VlanMode
from cloudenv.drivers.network.ovs import OvsNetworkDriver
from tests.support.ovs import Lab, ensure_ovs, next_cfg, run, stop_ovs, vsctl

pytestmark = pytest.mark.integration

DAEMONS = ("ovsdb-server", "ovs-vswitchd")


@pytest.fixture(scope="module")
def driver() -> OvsNetworkDriver:
    ensure_ovs()
    return OvsNetworkDriver()


def access(vlan_id: int) -> PortVlan:
    return PortVlan(VlanMode.ACCESS, vlan_id)


def test_hosts_on_one_access_vlan_reach_each_other_and_no_other(
    driver: OvsNetworkDriver, lab: Lab
) -> None:
    bridge = lab.bridge_name()
    driver.ensure_switch(SwitchSpec(bridge))
    a, b, c = (lab.host(f"h{i}", f"10.77.0.{i}/24") for i in (1, 2, 3))
    for host, vlan in ((a, 10), (b, 10), (c, 20)):
        lab.plug(bridge, host)
        assert driver.set_port_vlan(bridge, host.mac, access(vlan)) == host.port
    assert lab.reaches(a, b)
    assert lab.cut_off(a, c)
    assert lab.cut_off(c, b)
    # A port group edit reaches the running port at once.
    driver.set_port_vlan(bridge, c.mac, access(10))
    assert lab.reaches(a, c)


def test_a_trunk_carries_its_vlans_and_the_native_one_untagged(
    driver: OvsNetworkDriver, lab: Lab
) -> None:
    # Switch A has hosts on VLANs 10, 20 and 30 and a trunk port (a veth, standing in for
    # an instance that trunks) to switch B, whose uplink is the veth's other end; B has
    # hosts on the same VLANs and one untagged.
    near, far = lab.bridge_name(), lab.bridge_name()
    trunk, uplink = lab.veth("tr")
    driver.ensure_switch(SwitchSpec(near))
    driver.ensure_switch(SwitchSpec(far, (uplink,)))
    mac = Path(f"/sys/class/net/{uplink}/address").read_text().strip()
    vsctl(
        "add-port", near, trunk, "--", "set", "Interface", trunk,
        f'external_ids:attached-mac="{mac}"',
    )  # fmt: skip
    hosts = {}
    for vlan in (10, 20, 30):
        for side, bridge in (("a", near), ("b", far)):
            # One subnet for all: only the VLANs keep hosts apart.
            host = lab.host(f"{side}{vlan}", f"10.77.0.{vlan + (1 if side == 'a' else 2)}/24")
            lab.plug(bridge, host)
            driver.set_port_vlan(bridge, host.mac, access(vlan))
            hosts[side, vlan] = host
    untagged = lab.host("b0", "10.77.0.33/24")
    lab.plug(far, untagged)
    driver.set_port_vlan(far, untagged.mac, PortVlan(VlanMode.UNTAGGED))

    driver.set_port_vlan(near, mac, PortVlan(VlanMode.TRUNK, None, (10, 20)))
    assert lab.reaches(hosts["a", 10], hosts["b", 10])
    assert lab.reaches(hosts["a", 20], hosts["b", 20])
    assert lab.cut_off(hosts["a", 30], hosts["b", 30])
    assert lab.cut_off(hosts["a", 30], untagged)
    # B keeps the VLANs apart, so the trunk's frames did carry their tags.
    assert lab.cut_off(hosts["a", 10], hosts["b", 20])
    assert lab.cut_off(hosts["a", 20], hosts["b", 10])

    # Native VLAN 30: A's VLAN 30 leaves the trunk untagged, which B puts on its untagged
    # network (VLAN 0), not on its VLAN 30.
    driver.set_port_vlan(near, mac, PortVlan(VlanMode.TRUNK, 30, (10, 20)))
    assert lab.reaches(hosts["a", 30], untagged)
    assert lab.cut_off(hosts["a", 30], hosts["b", 30])
    assert lab.reaches(hosts["a", 10], hosts["b", 10])


def _active_member(bond: str) -> str:
    """The bond member ovs-vswitchd sends on (`ovs-appctl bond/show`, which tests may read)."""
    shown = run("ovs-appctl", "bond/show", bond)
    found = re.search(r"^active member mac: \S+\((\S+)\)$", shown, re.M)
    assert found, shown
    return found.group(1)


def test_a_bond_keeps_traffic_flowing_when_a_link_goes_down(
    driver: OvsNetworkDriver, lab: Lab
) -> None:
    # The vSwitch's two uplinks go to a bridge cloudenv doesn't own: the physical switch.
    bridge = lab.bridge_name()
    first, first_peer = lab.veth("u1")
    second, second_peer = lab.veth("u2")
    physical = lab.foreign_bridge(first_peer, second_peer)
    driver.ensure_switch(SwitchSpec(bridge, (first, second)))
    inside = lab.host("hv", "10.77.40.1/24")
    outside = lab.host("hp", "10.77.40.2/24")
    lab.plug(bridge, inside)
    driver.set_port_vlan(bridge, inside.mac, PortVlan(VlanMode.UNTAGGED))
    vsctl("add-port", physical, outside.port)
    bond = f"bond-{bridge}"
    assert vsctl("get", "Port", bond, "bond_mode") == "active-backup"
    assert lab.reaches(inside, outside)

    active = _active_member(bond)
    assert active in (first, second)
    run("ip", "link", "set", active, "down")
    assert lab.reaches(inside, outside)
    assert lab.reaches(outside, inside)
    survivor = second if active == first else first
    assert _active_member(bond) == survivor


def _our_rows(bridge: str) -> object:
    """The vSwitch's rows with their UUIDs: equal means nothing was re-created or changed."""

    def rows(table: str, columns: str, *records: str) -> object:
        return json.loads(vsctl("--format=json", f"--columns={columns}", "list", table, *records))[
            "data"
        ]

    names = vsctl("list-ports", bridge).split()
    ifaces = vsctl("list-ifaces", bridge).split()
    return (
        rows("Bridge", "_uuid,ports,datapath_type,external_ids,other_config", bridge),
        rows("Port", "_uuid,name,interfaces,tag,trunks,vlan_mode,bond_mode,external_ids", *names),
        rows("Interface", "_uuid,name,external_ids,mtu_request", *ifaces),
    )


def test_after_an_ovs_restart_ensure_converges_without_changes(
    driver: OvsNetworkDriver, lab: Lab
) -> None:
    bridge = lab.bridge_name()
    first, _ = lab.veth("u1")
    second, _ = lab.veth("u2")
    spec = SwitchSpec(bridge, (first, second), mtu=1400, mac_table_size=4096, mac_aging_seconds=90)
    driver.ensure_switch(spec)
    a, b = lab.host("ra", "10.77.50.1/24"), lab.host("rb", "10.77.50.2/24")
    for host in (a, b):
        lab.plug(bridge, host)
        driver.set_port_vlan(bridge, host.mac, access(50))
    assert lab.reaches(a, b)
    rows = _our_rows(bridge)

    sent = driver.transactions
    with lab.alone():  # no other test's transactions meanwhile: next_cfg is ours to watch
        stop_ovs()
        ensure_ovs()
        cfg = next_cfg()
        driver.ensure_switch(spec)
        for host in (a, b):
            driver.set_port_vlan(bridge, host.mac, access(50))
        assert next_cfg() == cfg, "the reconcile after the restart sent a transaction"
    assert driver.transactions == sent
    assert _our_rows(bridge) == rows
    assert lab.reaches(a, b)
    # ovs-vswitchd made the bridge's device again; the reconcile set it up.
    assert "UP" in run("ip", "-br", "link", "show", bridge).split()[1]

    # Drift made behind cloudenv's back is undone by the next reconcile.
    vsctl("del-port", bridge, f"bond-{bridge}")
    vsctl("set", "Bridge", bridge, "other_config:mac-table-size=16", "datapath_type=system")
    driver.ensure_switch(spec)
    assert vsctl("get", "Bridge", bridge, "other_config:mac-table-size") == '"4096"'
    assert vsctl("get", "Bridge", bridge, "datapath_type") == driver.datapath().value
    assert [p.name for p in driver.ports(bridge) if p.ours] == [f"bond-{bridge}"]
    assert vsctl("get", "Interface", first, "mtu_request") == "1400"
    assert lab.reaches(a, b)


def test_a_foreign_bridge_with_traffic_is_left_alone(driver: OvsNetworkDriver, lab: Lab) -> None:
    first, _ = lab.veth("u1")
    foreign = lab.foreign_bridge(first)
    a, b = lab.host("fa", "10.77.60.1/24"), lab.host("fb", "10.77.60.2/24")
    for host in (a, b):
        lab.plug(foreign, host)
    before = vsctl("--format=json", "list", "Port", first, a.port, b.port)
    with pytest.raises(Conflict):
        driver.set_port_vlan(foreign, a.mac, access(10))
    with pytest.raises(Conflict):
        driver.ensure_switch(SwitchSpec(foreign))
    with pytest.raises(Conflict):
        driver.remove_switch(foreign)
    assert vsctl("--format=json", "list", "Port", first, a.port, b.port) == before
    assert lab.reaches(a, b)


def test_the_start_script_leaves_running_daemons_alone(driver: OvsNetworkDriver) -> None:
    pids = [Path(f"/var/run/openvswitch/{d}.pid").read_text() for d in DAEMONS]
    ensure_ovs()
    ensure_ovs()
    assert [Path(f"/var/run/openvswitch/{d}.pid").read_text() for d in DAEMONS] == pids
    for pid in pids:
        assert Path(f"/proc/{pid.strip()}").exists()


def test_nodes_sharing_one_ovs_see_and_touch_only_their_own_bridges(lab: Lab) -> None:
    """Two nodes on one host (a lab, these tests): each lists only the bridges it made,
    and is refused another's, so one node's sync never removes its neighbour's vSwitch."""
    ensure_ovs()
    first = OvsNetworkDriver(owner="node-first")
    second = OvsNetworkDriver(owner="node-second")
    bridge = lab.bridge_name()
    first.ensure_switch(SwitchSpec(bridge))
    assert vsctl("get", "Bridge", bridge, "external_ids:cloudenv-node").strip('"') == "node-first"
    assert bridge in first.switches()
    assert bridge not in second.switches()
    with pytest.raises(Conflict, match="belongs to node node-first"):
        second.remove_switch(bridge)
    with pytest.raises(Conflict, match="belongs to node node-first"):
        second.ensure_switch(SwitchSpec(bridge))
    assert bridge in first.switches()
    first.remove_switch(bridge)
    assert bridge not in first.switches()
