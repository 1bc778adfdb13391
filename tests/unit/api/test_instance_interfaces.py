"""Instance network interfaces over HTTP with fake drivers: deploy with networks (MAC
given or generated, the NIC rows, the domain's interfaces, the VLAN set on each port),
each refusal (which changes nothing), and NIC attach/detach through the devices API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudenv import clock
from cloudenv.drivers.compute.base import PortVlan, VlanMode
from cloudenv.drivers.network.base import SwitchSpec
from cloudenv.enums import DesiredState, InstanceState, InstanceType, PortGroupType
from cloudenv.ids import Prefix, new_id
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Instance, InstanceDevice, Node, PortGroup, VSwitch
from tests.conftest import Deployment, count_rows
from tests.unit.api.test_devices_snapshots_metrics import devices, run
from tests.unit.api.test_instances_api import deploy, deploy_body, power
from tests.unit.api.test_storage_pools_api import add_node

pytestmark = pytest.mark.unit


def add_vswitch(
    dep: Deployment,
    name: str,
    *,
    node_id: str | None = None,
    organization_id: str | None = None,
    groups: dict[str, PortGroupType] | None = None,
) -> str:
    """A vSwitch row (and its port groups) as the vSwitch service records it; access
    groups get VLAN 10, trunks 20 and 30 with native 5."""
    vswitch_id = new_id(Prefix.VSWITCH)
    org = organization_id or dep.setup.organization_id
    with transaction(dep.factory) as db:
        db.add(
            VSwitch(
                id=vswitch_id,
                organization_id=org,
                cluster_id=dep.setup.cluster_id,
                node_id=node_id or dep.setup.node_id,
                name=name,
                creation=clock.now(),
            )
        )
        db.flush()
        for group, kind in (groups or {"lan": PortGroupType.ACCESS}).items():
            db.add(
                PortGroup(
                    vswitch_id=vswitch_id,
                    name=group,
                    organization_id=org,
                    type=kind,
                    vlan_id=10 if kind is PortGroupType.ACCESS else None,
                    trunk_vlans=[20, 30] if kind is PortGroupType.TRUNK else [],
                    native_vlan_id=5 if kind is PortGroupType.TRUNK else None,
                    creation=clock.now(),
                )
            )
    return vswitch_id


@pytest.fixture
def dep(sqlite_deployment: Deployment) -> Deployment:
    return sqlite_deployment


@pytest.fixture
def switch(dep: Deployment, monkeypatch: pytest.MonkeyPatch) -> str:
    """vSwitch svswitch1 with port groups lan (access 10), trunk and flat (untagged), made
    on the fake OVS; the fake hypervisor plugs each NIC of a guest it starts (or hot-plugs)
    into its bridge, as libvirt does."""
    vswitch_id = add_vswitch(
        dep,
        "svswitch1",
        groups={
            "lan": PortGroupType.ACCESS,
            "trunk": PortGroupType.TRUNK,
            "flat": PortGroupType.UNTAGGED,
        },
    )
    dep.network.ensure_switch(SwitchSpec("svswitch1"))
    compute, network = dep.compute, dep.network
    start, attach = compute.start, compute.attach_interface
    taps = iter(range(100))

    def plug_all(name: str) -> None:
        start(name)
        for nic in compute.domains[name].interfaces:
            network.plug(nic.bridge, f"vnet{next(taps)}", nic.mac)

    def hot_plug(name: str, nic: Any, *, live: bool) -> None:
        attach(name, nic, live=live)
        if live:
            network.plug(nic.bridge, f"vnet{next(taps)}", nic.mac)

    monkeypatch.setattr(compute, "start", plug_all)
    monkeypatch.setattr(compute, "attach_interface", hot_plug)
    return vswitch_id


def vlans(dep: Deployment) -> dict[str, PortVlan]:
    """The VLAN of every instance port of svswitch1, by guest MAC."""
    return {p.mac: p.vlan for p in dep.network.ports("svswitch1") if p.mac}


def test_deploy_with_a_given_and_a_generated_mac(
    admin: TestClient, dep: Deployment, switch: str
) -> None:
    networks = [
        {"vswitch_id": switch, "port_group_name": "lan", "mac": "52:54:00:AB:CD:EF"},
        {"vswitch_id": switch, "port_group_name": "trunk", "model": "e1000"},
    ]
    instance_id = deploy(admin, dep, networks=networks)
    listed = devices(admin, instance_id)
    nic0, nic1 = listed["nic0"], listed["nic1"]
    assert (nic0["type"], nic0["resource_id"], nic0["status"]) == (1, switch, "attached")
    assert nic0["metadata"] == {
        "_type": 1,
        "data": {
            "vswitch_id": switch,
            "port_group_name": "lan",
            "mac": "52:54:00:ab:cd:ef",
            "model": "virtio",
        },
    }
    generated = nic1["metadata"]["data"]["mac"]
    assert re.fullmatch(r"52:54:00(:[0-9a-f]{2}){3}", generated)
    assert nic1["metadata"]["data"]["model"] == "e1000"
    domain = dep.compute.domains[instance_id]
    assert [(n.mac, n.bridge, n.model, n.vlan) for n in domain.interfaces] == [
        ("52:54:00:ab:cd:ef", "svswitch1", "virtio", PortVlan(VlanMode.ACCESS, 10)),
        (generated, "svswitch1", "e1000", PortVlan(VlanMode.TRUNK, 5, (20, 30))),
    ]
    # The agent set each port's VLAN through OVSDB once the guest ran.
    assert vlans(dep) == {
        "52:54:00:ab:cd:ef": PortVlan(VlanMode.ACCESS, 10),
        generated: PortVlan(VlanMode.TRUNK, 5, (20, 30)),
    }


def test_vlans_are_set_again_when_the_instance_starts(
    admin: TestClient, dep: Deployment, switch: str
) -> None:
    networks = [{"vswitch_id": switch, "port_group_name": "flat", "mac": "52:54:00:00:00:07"}]
    instance_id = deploy(admin, dep, networks=networks)
    power(admin, dep, instance_id, "kill")
    for port in dep.network.ports("svswitch1"):  # libvirt removes the port at the stop
        dep.network.unplug("svswitch1", port.name)
    assert power(admin, dep, instance_id, "start")["status"] == "succeeded"
    assert vlans(dep) == {"52:54:00:00:00:07": PortVlan(VlanMode.UNTAGGED)}


def test_a_vlan_that_cant_be_applied_does_not_fail_the_start(
    admin: TestClient, dep: Deployment
) -> None:
    """No port on the fake OVS (nothing plugs it): reported in the task, the guest runs,
    and the next network sync applies it."""
    vswitch_id = add_vswitch(dep, "svswitch3")
    networks = [{"vswitch_id": vswitch_id, "port_group_name": "lan"}]
    response = admin.post("/api/v2/instances", json=deploy_body(dep, networks=networks))
    task = run(admin, dep, response)
    assert task["status"] == "succeeded", task
    assert "VLAN not applied" in str(task)


def test_another_node_mac_clash_is_refused(admin: TestClient, dep: Deployment, switch: str) -> None:
    other_node = add_node(dep, "node-2")
    other = add_vswitch(dep, "svswitch2", node_id=other_node)
    with transaction(dep.factory) as db:  # an instance of node-2 holds the MAC
        db.add(
            Instance(
                id="inst-other",
                organization_id=dep.setup.organization_id,
                node_id=other_node,
                name="other",
                type=InstanceType.QEMU,
                architecture="x86_64",
                uuid="1d7a1f9e-0000-4000-8000-000000000001",
                cpu_sockets=1,
                cpu_cores=1,
                cpu_threads=1,
                memory_mb=256,
                desired_state=DesiredState.STOPPED,
                state=InstanceState.STOPPED,
                creation=clock.now(),
            )
        )
        db.flush()
        db.add(
            InstanceDevice(
                instance_id="inst-other",
                name="nic0",
                type=1,
                resource_id=other,
                mac="52:54:00:12:34:56",
                metadata_={"port_group": "lan"},
                creation=clock.now(),
            )
        )
    networks = [{"vswitch_id": switch, "port_group_name": "lan", "mac": "52:54:00:12:34:56"}]
    response = admin.post("/api/v2/instances", json=deploy_body(dep, networks=networks))
    assert response.status_code == 409, response.text
    assert response.json()["field"] == "networks[0].mac"
    assert "already used" in response.json()["message"]


@pytest.mark.parametrize(
    ("network", "status", "field", "words"),
    [
        ({"vswitch_id": "vsw-nope", "port_group_name": "lan"}, 404, "vswitch_id", "not exist"),
        ({"port_group_name": "lan"}, 400, "vswitch_id", "required"),
        ({"vswitch_id": "SWITCH", "port_group_name": "nope"}, 404, "port_group_name", "nope"),
        ({"vswitch_id": "OTHER", "port_group_name": "lan"}, 400, "vswitch_id", "node"),
        ({"vswitch_id": "SWITCH", "port_group_name": "own"}, 404, "port_group_name", "own"),
        ({"vswitch_id": "SWITCH", "port_group_name": "lan", "mac": "52:54:00"}, 400, "mac", ""),
        ({"vswitch_id": "SWITCH", "port_group_name": "lan", "mac": "zz:54:00:00:00:01"}, 400,
         "mac", "not valid"),
        ({"vswitch_id": "SWITCH", "port_group_name": "lan", "mac": "01:00:5e:00:00:01"}, 400,
         "mac", "multicast"),
        ({"vswitch_id": "SWITCH", "port_group_name": "lan", "model": "rtl8139"}, 400, "model",
         "virtio, e1000"),
    ],
)  # fmt: skip
def test_bad_networks_are_refused_and_change_nothing(
    admin: TestClient,
    dep: Deployment,
    switch: str,
    network: dict[str, Any],
    status: int,
    field: str,
    words: str,
) -> None:
    other_node = add_node(dep, "node-2")
    other = add_vswitch(dep, "svswitch2", node_id=other_node)
    # A port group named "own" exists, but on svswitch2: not one of svswitch1's.
    add_vswitch(dep, "svswitch4", groups={"own": PortGroupType.UNTAGGED})
    body = {k: {"SWITCH": switch, "OTHER": other}.get(v, v) for k, v in network.items()}
    before = count_rows(dep, InstanceDevice)
    response = admin.post("/api/v2/instances", json=deploy_body(dep, networks=[body]))
    assert response.status_code == status, response.text
    assert response.json()["field"] == f"networks[0].{field}"
    assert words in response.json()["message"]
    assert count_rows(dep, Instance) == 0
    assert count_rows(dep, InstanceDevice) == before


def test_two_nics_with_one_mac_in_one_deploy_are_refused(
    admin: TestClient, dep: Deployment, switch: str
) -> None:
    mac = "52:54:00:00:00:01"
    networks = [{"vswitch_id": switch, "port_group_name": "lan", "mac": mac}] * 2
    response = admin.post("/api/v2/instances", json=deploy_body(dep, networks=networks))
    assert response.status_code == 409
    assert response.json()["field"] == "networks[1].mac"
    assert count_rows(dep, Instance) == 0


def test_another_tenants_vswitch_is_not_found(
    tenant: tuple[TestClient, str], dep: Deployment
) -> None:
    """The tenant deploys on a node of its own; a vSwitch there that belongs to another
    organization is as missing as an unknown one (404, never revealed)."""
    client, org_id = tenant
    node_id = add_node(dep, "node-t")
    with transaction(dep.factory) as db:
        node = db.get(Node, node_id)
        assert node is not None
        node.organization_id, node.hardware = org_id, {"memory_total_mb": 4096}
    theirs = add_vswitch(dep, "svswitch7", node_id=node_id)  # the root organization's
    body = deploy_body(
        dep,
        destination={"node_id": node_id},
        networks=[{"vswitch_id": theirs, "port_group_name": "lan"}],
        metadata={"new_volumes": []},
    )
    response = client.post("/api/v2/instances", json=body)
    assert response.status_code == 404, response.text
    assert response.json()["field"] == "networks[0].vswitch_id"
    assert "svswitch7" not in response.text
    assert count_rows(dep, Instance) == 0


def nic_body(vswitch_id: str, name: str = "nic-9", **data: Any) -> dict[str, Any]:
    data = {"vswitch_id": vswitch_id, "port_group_name": "lan", **data}
    return {"name": name, "type": 1, "metadata": {"_type": 1, "data": data}}


def test_attach_a_nic_live_and_detach_it(admin: TestClient, dep: Deployment, switch: str) -> None:
    instance_id = deploy(admin, dep)
    response = admin.post(
        f"/api/v1/instances/{instance_id}/devices/",
        json=nic_body(switch, mac="52:54:00:00:00:99"),
    )
    assert response.json()["needs_reboot"] is False
    assert devices(admin, instance_id)["nic-9"]["status"] == "attaching"
    assert run(admin, dep, response)["status"] == "succeeded"
    nic = devices(admin, instance_id)["nic-9"]
    assert (nic["type"], nic["status"], nic["metadata"]["data"]["mac"]) == (
        1,
        "attached",
        "52:54:00:00:00:99",
    )
    attached = dep.compute.domains[instance_id].interfaces
    assert [(n.mac, n.bridge, n.vlan) for n in attached] == [
        ("52:54:00:00:00:99", "svswitch1", PortVlan(VlanMode.ACCESS, 10))
    ]
    assert ("attach_interface", instance_id, "52:54:00:00:00:99") in dep.compute.calls
    assert vlans(dep) == {"52:54:00:00:00:99": PortVlan(VlanMode.ACCESS, 10)}
    # Its MAC is now taken in the cluster.
    again = admin.post(
        f"/api/v1/instances/{instance_id}/devices/",
        json=nic_body(switch, name="nic-10", mac="52:54:00:00:00:99"),
    )
    assert again.status_code == 409 and again.json()["field"] == "metadata.data.mac"
    gone = admin.delete(f"/api/v1/instances/{instance_id}/devices/nic-9/")
    assert run(admin, dep, gone)["status"] == "succeeded"
    assert "nic-9" not in devices(admin, instance_id)
    assert dep.compute.domains[instance_id].interfaces == ()
    assert ("detach_interface", instance_id, "52:54:00:00:00:99") in dep.compute.calls


def test_attach_a_nic_to_a_stopped_instance(
    admin: TestClient, dep: Deployment, switch: str
) -> None:
    instance_id = deploy(admin, dep)
    power(admin, dep, instance_id, "kill")
    response = admin.post(f"/api/v1/instances/{instance_id}/devices/", json=nic_body(switch))
    assert response.json()["needs_reboot"] is False
    assert run(admin, dep, response)["status"] == "succeeded"
    (nic,) = dep.compute.domains[instance_id].interfaces
    assert nic.vlan == PortVlan(VlanMode.ACCESS, 10)
    assert vlans(dep) == {}  # not running: no port until it starts
    assert power(admin, dep, instance_id, "start")["status"] == "succeeded"
    assert vlans(dep) == {nic.mac: PortVlan(VlanMode.ACCESS, 10)}


@pytest.mark.parametrize(
    ("data", "status", "field"),
    [
        ({"vswitch_id": "vsw-nope"}, 404, "metadata.data.vswitch_id"),
        ({"port_group_name": "nope"}, 404, "metadata.data.port_group_name"),
        ({"mac": "ff:ff:ff:ff:ff:ff"}, 400, "metadata.data.mac"),
        ({"model": "pcnet"}, 400, "metadata.data.model"),
    ],
)
def test_bad_nic_attaches_are_refused(
    admin: TestClient,
    dep: Deployment,
    switch: str,
    data: dict[str, Any],
    status: int,
    field: str,
) -> None:
    instance_id = deploy(admin, dep)
    body = nic_body(data.pop("vswitch_id", switch), **data)
    response = admin.post(f"/api/v1/instances/{instance_id}/devices/", json=body)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert "nic-9" not in devices(admin, instance_id)
