"""The network API on the fake drivers: NICs, vSwitches and port groups, each bad input
the issue names, and the node's sync queued with every change."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Deployment

SWITCHES = "/api/v1/networks/vswitches/standalone"


def refresh_nics(dep: Deployment) -> None:
    """What the agent's heartbeat does: record the fake node's NICs."""
    from cloudenv.services.network import nics
    from cloudenv.store.engine import transaction

    with transaction(dep.factory) as db:
        nics.refresh(db, dep.setup.node_id, dep.network.list_nics())


def create_switch(client: TestClient, node_id: str, **body: Any) -> Any:
    return client.post(SWITCHES, json={"node_id": node_id, **body})


def test_nics_listed_with_unused_and_vswitch(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    refresh_nics(dep)
    node = dep.setup.node_id
    got = admin.get(f"/api/v1/nodes/{node}/network/interfaces")
    assert got.status_code == 200, got.text
    by_name = {n["name"]: n for n in got.json()["networks"]}
    assert set(by_name) == {"eth0", "eth1", "eth2", "eth3"}
    assert by_name["eth0"]["unused"] is False  # it carries the management address
    assert by_name["eth1"]["unused"] is True
    created = create_switch(admin, node, name="svswitch10", config={"uplinks": ["eth1"]})
    assert created.status_code == 200, created.text
    by_name = {
        n["name"]: n
        for n in admin.get(f"/api/v1/nodes/{node}/network/interfaces").json()["networks"]
    }
    assert by_name["eth1"]["unused"] is False
    assert by_name["eth1"]["vswitch"] == "svswitch10"


def sync_tasks(dep: Deployment) -> int:
    from sqlalchemy import func, select

    from cloudenv.store.tables import Task

    with dep.factory() as db:
        return int(
            db.scalar(select(func.count()).select_from(Task).where(Task.kind == "network.sync"))
            or 0
        )


def test_create_queues_sync_and_agent_makes_bridge(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    refresh_nics(dep)
    node = dep.setup.node_id
    created = create_switch(
        admin,
        node,
        name="svswitch10",
        mtu=1500,
        config={"uplinks": ["eth1", "eth2"], "security": {"mac_table": {"maximum": 4096}}},
    )
    assert created.status_code == 200, created.text
    vsw = created.json()["id"]
    assert admin.get(f"{SWITCHES}/{vsw}").json()["status"] == "pending"
    assert sync_tasks(dep) == 1
    dep.daemon.agent.run_pending()
    got = admin.get(f"{SWITCHES}/{vsw}").json()
    assert got["status"] == "ready", got
    assert got["uplink_count"] == 2
    assert got["config"]["security"]["mac_table"] == {"maximum": 4096, "aging_time": None}
    bridge = dep.network.bridges["svswitch10"]
    assert bridge.ours and bridge.spec is not None
    assert bridge.spec.uplinks == ("eth1", "eth2")
    assert bridge.spec.mac_table_size == 4096
    listed = admin.get(SWITCHES, params={"node_id": node}).json()
    assert [s["name"] for s in listed] == ["svswitch10"]


def test_sync_is_idempotent_and_removes_unwanted_bridges(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    from cloudenv.services.network import sync
    from cloudenv.store.engine import transaction

    dep = sqlite_deployment
    refresh_nics(dep)
    vsw = create_switch(
        admin, dep.setup.node_id, name="svswitch10", config={"uplinks": ["eth1"]}
    ).json()["id"]
    dep.daemon.agent.run_pending()
    dep.network.add_foreign_bridge("br-host", ["eth3"])
    revision = dep.network.revision
    with transaction(dep.factory) as db:
        sync.queue_sync(db, dep.setup.node_id)
    dep.daemon.agent.run_pending()
    assert dep.network.revision == revision  # a second sync changes nothing
    assert "br-host" in dep.network.bridges  # not ours: never touched
    deleted = admin.delete(f"{SWITCHES}/{vsw}", params={"confirm": "DESTROY"})
    assert deleted.status_code == 200, deleted.text
    assert admin.get(f"{SWITCHES}/{vsw}").status_code == 404
    dep.daemon.agent.run_pending()
    assert "svswitch10" not in dep.network.bridges
    assert "br-host" in dep.network.bridges


def test_bad_vswitch_names_refused_with_the_rule(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    node = sqlite_deployment.setup.node_id
    for name in (
        "vswitch1",
        "svswitch0",
        "svswitch01",
        "svswitch",
        "svswitch-1",
        "svswitch12345678",
    ):
        got = create_switch(admin, node, name=name)
        assert got.status_code == 400, (name, got.text)
        assert got.json()["field"] == "name"
        assert "svswitchN" in got.json()["message"]


def test_duplicate_name_on_another_node_of_the_cluster_refused(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    from cloudenv import clock
    from cloudenv.store.engine import transaction
    from cloudenv.store.tables import Node

    dep = sqlite_deployment
    with transaction(dep.factory) as db:
        db.add(
            Node(
                id="node-other0000000000000000",
                organization_id=dep.setup.organization_id,
                cluster_id=dep.setup.cluster_id,
                name="other",
                creation=clock.now(),
            )
        )
    assert create_switch(admin, "node-other0000000000000000", name="svswitch10").status_code == 200
    got = create_switch(admin, dep.setup.node_id, name="svswitch10")
    assert got.status_code == 409, got.text
    assert "other" in got.json()["message"] and "cluster-wide" in got.json()["message"]


def test_uplink_rules(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    refresh_nics(dep)
    node = dep.setup.node_id
    assert (
        create_switch(admin, node, name="svswitch1", config={"uplinks": ["eth1"]}).status_code
        == 200
    )
    taken = create_switch(admin, node, name="svswitch2", config={"uplinks": ["eth1"]})
    assert taken.status_code == 409, taken.text
    assert "svswitch1" in taken.json()["message"]
    assert taken.json()["field"] == "config.uplinks[0]"
    unknown = create_switch(admin, node, name="svswitch2", config={"uplinks": ["eth9"]})
    assert unknown.status_code == 400 and "eth9" in unknown.json()["message"]
    management = create_switch(admin, node, name="svswitch2", config={"uplinks": ["eth0"]})
    assert management.status_code == 400, management.text
    assert "management address 127.0.0.1" in management.json()["message"]
    forced = create_switch(admin, node, name="svswitch2", config={"uplinks": ["eth0"]}, force=True)
    assert forced.status_code == 200, forced.text
    # Editing its own uplinks keeps them; another's is still refused.
    vsw = admin.get(SWITCHES).json()[0]["id"]
    edited = admin.patch(f"{SWITCHES}/{vsw}", json={"config": {"uplinks": ["eth1", "eth2"]}})
    assert edited.status_code == 200, edited.text
    assert edited.json()["uplink_count"] == 2
    mtu = admin.patch(f"{SWITCHES}/{vsw}", json={"mtu": 67})
    assert mtu.status_code == 422 or mtu.status_code == 400


def test_port_groups_and_vlan_rules(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    vsw = create_switch(admin, dep.setup.node_id, name="svswitch10").json()["id"]
    groups = f"{SWITCHES}/{vsw}/port_groups"
    for data, field in (
        ({"vlan_id": 0}, "config.data.vlan_id"),
        ({"vlan_id": 4095}, "config.data.vlan_id"),
        ({}, "config.data.vlan_id"),
        ({"vlan_id": 10, "trunk_vlans": [20]}, "config.data.trunk_vlans"),
    ):
        got = admin.post(groups, json={"name": "Prod", "config": {"type": 1, "data": data}})
        assert got.status_code == 400, (data, got.text)
        assert got.json()["field"] == field
    trunk_zero = admin.post(
        groups, json={"name": "Prod", "config": {"type": 2, "data": {"trunk_vlans": [10, 0]}}}
    )
    assert (
        trunk_zero.status_code == 400 and trunk_zero.json()["field"] == "config.data.trunk_vlans[1]"
    )
    empty = admin.post(
        groups, json={"name": "Prod", "config": {"type": 2, "data": {"trunk_vlans": []}}}
    )
    assert empty.status_code == 400
    ok = admin.post(groups, json={"name": "Prod", "config": {"type": 1, "data": {"vlan_id": 10}}})
    assert ok.status_code == 200, ok.text
    dup = admin.post(groups, json={"name": "Prod", "config": {"type": 3}})
    assert dup.status_code == 409
    trunk = admin.post(
        groups,
        json={
            "name": "Trunk",
            "config": {"type": 2, "data": {"trunk_vlans": [30, 20, 20], "native_vlan_id": 5}},
        },
    )
    assert trunk.status_code == 200, trunk.text
    listed = admin.get(f"{SWITCHES}/port_groups", params={"node_id": dep.setup.node_id}).json()
    by_name = {g["name"]: g for g in listed}
    assert by_name["Prod"]["config"]["data"] == {
        "_type": "access",
        "vlan_id": 10,
        "trunk_vlans": [],
        "native_vlan_id": None,
    }
    assert by_name["Trunk"]["config"]["data"]["trunk_vlans"] == [20, 30]
    edited = admin.patch(f"{groups}/Prod", json={"config": {"type": 1, "data": {"vlan_id": 20}}})
    assert edited.status_code == 200, edited.text
    assert edited.json()["config"]["data"]["vlan_id"] == 20
    # A vSwitch with port groups can't be deleted; its port group can.
    assert admin.delete(f"{SWITCHES}/{vsw}").status_code == 409
    assert admin.delete(f"{groups}/Prod", params={"confirm": "yes"}).status_code == 400
    assert admin.delete(f"{groups}/Prod", params={"confirm": "DESTROY"}).status_code == 200
    assert admin.delete(f"{groups}/Trunk").status_code == 200
    assert admin.delete(f"{SWITCHES}/{vsw}").status_code == 200


def test_in_use_refusals_and_live_vlan(admin: TestClient, sqlite_deployment: Deployment) -> None:
    """An instance NIC on a port group keeps it and its vSwitch; a running instance's port
    gets the group's VLAN at the sync, and a new VLAN at the next."""
    from sqlalchemy import select

    from cloudenv import clock
    from cloudenv.drivers.network.base import PortVlan, VlanMode
    from cloudenv.enums import DeviceType, InstanceState
    from cloudenv.store.engine import transaction
    from cloudenv.store.tables import Instance, InstanceDevice
    from tests.unit.api.test_instances_api import deploy, upload

    dep = sqlite_deployment
    vsw = create_switch(admin, dep.setup.node_id, name="svswitch10").json()["id"]
    groups = f"{SWITCHES}/{vsw}/port_groups"
    admin.post(groups, json={"name": "Prod", "config": {"type": 1, "data": {"vlan_id": 10}}})
    dep.daemon.agent.run_pending()
    upload(admin, dep, "guest.iso")
    instance = deploy(admin, dep, image="guest.iso")
    mac = "52:54:00:aa:bb:01"
    with transaction(dep.factory) as db:
        db.add(
            InstanceDevice(
                instance_id=instance,
                name="net0",
                type=DeviceType.NIC,
                resource_id=vsw,
                mac=mac,
                metadata_={"port_group": "Prod", "model": "virtio"},
                creation=clock.now(),
            )
        )
        row = db.scalar(select(Instance).where(Instance.id == instance))
        assert row is not None
        row.state = InstanceState.RUNNING
    dep.network.plug("svswitch10", "vnet0", mac)
    in_use = admin.delete(f"{groups}/Prod")
    assert in_use.status_code == 409 and "net0" in in_use.json()["message"]
    assert admin.delete(f"{SWITCHES}/{vsw}").status_code == 409
    listed = admin.get(f"{SWITCHES}/port_groups").json()
    assert listed[0]["config"]["interfaces"] == [
        {"name": "net0", "mac_address": mac, "ipv4": None, "ipv6": None}
    ]
    admin.patch(f"{groups}/Prod", json={"config": {"type": 1, "data": {"vlan_id": 20}}})
    dep.daemon.agent.run_pending()
    port = dep.network.bridges["svswitch10"].ports["vnet0"]
    assert port.vlan == PortVlan(VlanMode.ACCESS, 20)


def test_nic_refresh_publishes_only_changes(sqlite_deployment: Deployment) -> None:
    from dataclasses import replace

    from cloudenv.services.network import nics
    from cloudenv.store.engine import transaction

    dep = sqlite_deployment
    found = dep.network.list_nics()
    with transaction(dep.factory) as db:
        assert nics.refresh(db, dep.setup.node_id, found) is True
    with transaction(dep.factory) as db:
        assert nics.refresh(db, dep.setup.node_id, found) is False
    changed = [replace(n, link=False) if n.name == "eth2" else n for n in found[:-1]]
    with transaction(dep.factory) as db:
        assert nics.refresh(db, dep.setup.node_id, changed) is True
    with dep.factory() as db:
        from cloudenv.store.queries import network as q

        rows = {n.name: n for n in q.node_nics(db, dep.setup.node_id)}
    assert "eth3" not in rows and rows["eth2"].link is False


def test_network_verbs_without_a_network_driver(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    """A node without OVS: the sync fails naming scripts/start-ovs.sh, the rest works."""
    dep = sqlite_deployment
    dep.daemon.agent.drivers.network = None
    vsw = create_switch(admin, dep.setup.node_id, name="svswitch10")
    assert vsw.status_code == 200
    dep.daemon.agent.run_pending()
    tasks = admin.get("/api/v1/tasks").json()
    sync = [t for t in tasks if t.get("kind") == "network.sync"]
    assert sync and "start-ovs.sh" in str(sync[0])
