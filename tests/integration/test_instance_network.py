"""Guests talking through a vSwitch, for real: libvirt joins each test guest's NIC to an
Open vSwitch bridge (userspace datapath), the agent sets its port group's VLAN, and the
guest brings its NIC up with the address on its kernel command line. Two guests on one
access port group ping each other from a serial console; a guest on another VLAN gets
nothing; after OVS restarts, traffic flows again. Everything made is removed at the end.

The vSwitch and its port groups are made through the API; the node's network.sync makes
the bridge, and brings the ports' VLANs back after the OVS restart. A daemon restart is
tested on a node of its own (the shared one can't be stopped under other tests): the
start's reconcile undoes a change made to a guest's port while the daemon was down.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from cloudenv.drivers.network.base import PortVlan, VlanMode
from cloudenv.drivers.network.ovs import OvsNetworkDriver
from tests.integration.test_compute_served import Node, _console, _read_until, _shell_until
from tests.support.compute import (
    CMDLINE,
    GuestImages,
    real_node_dir,
    succeed,
    upload_guest,
    wait_marker,
    wait_task,
)
from tests.support.libvirt import ensure_libvirtd
from tests.support.ovs import Lab, ensure_ovs, stop_ovs, vsctl
from tests.support.served_node import Server, serving

pytestmark = pytest.mark.integration

SUBNET = "10.77.10"


@dataclass
class Switch:  # its id is the API's, known once created
    id: str
    name: str


@pytest.fixture(scope="module")
def node(real_node: Server, guest_images: GuestImages) -> Iterator[Node]:
    with real_node.admin() as client:
        yield Node(real_node, client)


SWITCHES = "/api/v1/networks/vswitches/standalone"


def synced(node: Node, change: Callable[[], httpx.Response]) -> None:
    """Make ``change``, which queues the node's network.sync (or finds one queued, which
    reads the rows when it runs), and wait until no sync is pending; the last succeeded."""
    response = change()
    assert response.status_code < 300, response.text
    deadline = time.monotonic() + 120
    while True:
        listed = node.client.get("/api/v1/tasks", params={"limit": 100}).json()
        syncs = [t for t in listed if t["kind"] == "network.sync"]
        if syncs and all(t["status"] not in ("queued", "running") for t in syncs):
            break
        assert time.monotonic() < deadline, syncs[:3]
        time.sleep(0.2)
    newest = max(syncs, key=lambda t: str(t["creation"]))
    assert newest["status"] == "succeeded", newest


@contextlib.contextmanager
def vswitch(node: Node, lab: Lab) -> Iterator[Switch]:
    """A vSwitch (no uplink) with port groups v10 and v20 (access VLANs 10 and 20), made
    through the API and applied by the node's network.sync; deleted afterwards."""
    switch = Switch("", lab.bridge_name())
    created = node.client.post(
        SWITCHES, json={"node_id": node.id, "name": switch.name, "config": {"uplinks": []}}
    )
    assert created.status_code in (200, 201), created.text
    switch.id = created.json()["id"]
    try:
        groups = f"{SWITCHES}/{switch.id}/port_groups"
        for vlan in (10, 20):
            body = {"name": f"v{vlan}", "config": {"type": 1, "data": {"vlan_id": vlan}}}
            assert node.client.post(groups, json=body).status_code < 300
        synced(node, lambda: node.client.get(f"{SWITCHES}/{switch.id}"))
        yield switch
    finally:
        for vlan in (10, 20):
            node.client.delete(
                f"{SWITCHES}/{switch.id}/port_groups/v{vlan}", params={"confirm": "DESTROY"}
            )
        synced(
            node,
            lambda: node.client.delete(f"{SWITCHES}/{switch.id}", params={"confirm": "DESTROY"}),
        )


def deploy_guest(node: Node, name: str, switch: Switch, group: str, host: int) -> str:
    body: dict[str, Any] = {
        "destination": {"node_id": node.id},
        "name": name,
        "type": 2,
        "cpu": {"sockets": 1, "cores": 1, "threads": 1},
        "memory": 192,
        "networks": [{"vswitch_id": switch.id, "port_group_name": group}],
        "autostart": False,
        "metadata": {
            "_type": "qemu",
            "machine_type": "pc",
            "firmware": "bios",
            "new_volumes": [],
            "kernel_boot": {
                "kernel": "vmlinuz",
                "initrd": "initrd.gz",
                "cmdline": f"{CMDLINE} cloudenv.ip={SUBNET}.{host}/24",
            },
        },
    }
    response = node.client.post("/api/v2/instances", json=body)
    return str(succeed(node.client, response)["target_id"])


def received(output: bytes) -> int:
    """The replies busybox ping counted: "3 packets transmitted, 2 packets received, ..."."""
    summary = output.rsplit(b"packets transmitted, ", 1)[-1]
    return int(summary.split(b" ", 1)[0])


_pings = itertools.count(1000)


def ping(socket: Any, ip: str, *, want: bool) -> int:
    """Replies to ``ping -c 3`` from the guest to ``ip``; when replies are wanted, asked
    again (ARP and MAC learning take a moment under TCG) until some come or the wait is
    over.

    Each call ends on a marker of its own: a console opened again replays what the guest
    printed before (earlier pings included), which must never pass for this ping's answer.
    """
    n = next(_pings)
    output = _shell_until(
        socket,
        f"ping -c 3 -W 2 {ip}; echo PINGED-$(({n}+1))".encode(),
        f"PINGED-{n + 1}\r\n".encode(),
        lambda out: received(out) > 0 or not want,
        timeout=90.0,
    )
    return received(output)


def test_guests_on_one_port_group_ping_each_other_and_not_across_vlans(
    node: Node, lab: Lab
) -> None:
    with vswitch(node, lab) as switch, guests(node) as instances:
        for name, group, host in (
            ("net-a", "v10", 2),
            ("net-b", "v10", 3),
            ("net-c", "v20", 4),
        ):
            instances.append(deploy_guest(node, f"{name}-{lab.tag}", switch, group, host))
        for instance_id in instances:
            wait_marker(instance_id, timeout=180.0)
        ovs = OvsNetworkDriver()
        ports = {p.mac: p.vlan for p in ovs.ports(switch.name) if p.mac}
        macs = [
            next(
                d["metadata"]["data"]["mac"]
                for d in node.client.get(f"/api/v1/instances/{i}/devices/").json()
                if d["type"] == 1
            )
            for i in instances
        ]
        assert [ports.get(mac) for mac in macs] == [
            PortVlan(VlanMode.ACCESS, 10),
            PortVlan(VlanMode.ACCESS, 10),
            PortVlan(VlanMode.ACCESS, 20),
        ]
        with _console(node, instances[0], "serial") as socket:
            _read_until(socket, b"CLOUDENV-GUEST-READY")
            assert ping(socket, f"{SUBNET}.3", want=True) > 0
            assert ping(socket, f"{SUBNET}.4", want=False) == 0
        with lab.alone():
            stop_ovs()
            ensure_ovs()
        # What was lost with the restart comes back with the node's next sync.
        synced(
            node,
            lambda: node.client.patch(
                f"{SWITCHES}/{switch.id}", json={"description": "after a restart"}
            ),
        )
        with _console(node, instances[0], "serial") as socket:
            assert ping(socket, f"{SUBNET}.3", want=True) > 0
            assert ping(socket, f"{SUBNET}.4", want=False) == 0


@contextlib.contextmanager
def guests(node: Node) -> Iterator[list[str]]:
    """The instances a test appends to the list, killed and destroyed at the end, whatever
    happened, before the port groups their NICs use are removed."""
    instances: list[str] = []
    try:
        yield instances
    finally:
        for instance_id in instances:
            node.power(instance_id, "kill")
            gone = node.client.delete(
                f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY"}
            )
            if gone.status_code == 202:  # its NIC keeps the port groups in use until gone
                wait_task(node.client, gone.json()["task_id"])


def test_a_daemon_restart_restores_a_guest_port_changed_meanwhile(lab: Lab) -> None:
    """A node of its own (it is stopped and served again): a guest on VLAN 10 pings a host
    of the lab on VLAN 10; while the daemon is down its port is moved to VLAN 20 behind
    cloudenv's back; the daemon's start reconcile puts it back and the ping works again."""
    ensure_libvirtd()
    with real_node_dir() as node_dir:
        with serving(node_dir) as server, server.admin() as client:
            node = Node(server, client)
            upload_guest(client, node.id, node.pool)
            switch = Switch("", lab.bridge_name())
            made = client.post(
                SWITCHES, json={"node_id": node.id, "name": switch.name, "config": {"uplinks": []}}
            )
            assert made.status_code == 200, made.text
            switch.id = made.json()["id"]
            body = {"name": "v10", "config": {"type": 1, "data": {"vlan_id": 10}}}
            synced(node, lambda: client.post(f"{SWITCHES}/{switch.id}/port_groups", json=body))
            peer = lab.host("p", f"{SUBNET}.9/24")
            lab.plug(switch.name, peer)
            OvsNetworkDriver().set_port_vlan(switch.name, peer.mac, PortVlan(VlanMode.ACCESS, 10))
            guest = deploy_guest(node, f"net-r-{lab.tag}", switch, "v10", 5)
            wait_marker(guest, timeout=180.0)
            [port] = [
                p.name
                for p in OvsNetworkDriver().ports(switch.name)
                if p.mac and p.name != peer.port
            ]
            with _console(node, guest, "serial") as socket:
                _read_until(socket, b"CLOUDENV-GUEST-READY")
                assert ping(socket, peer.ip, want=True) > 0
        vsctl("set", "Port", port, "tag=20")  # the daemon is down: nobody puts it back
        with serving(node_dir) as server, server.admin() as client:
            node = Node(server, client)
            try:
                synced(node, lambda: client.get(f"{SWITCHES}/{switch.id}"))
                assert vsctl("get", "Port", port, "tag") == "10"
                with _console(node, guest, "serial") as socket:
                    assert ping(socket, peer.ip, want=True) > 0
            finally:
                node.power(guest, "kill")
                succeed(
                    client,
                    client.delete(f"/api/v1/instances/{guest}", params={"confirm": "DESTROY"}),
                )
                client.delete(
                    f"{SWITCHES}/{switch.id}/port_groups/v10", params={"confirm": "DESTROY"}
                )
                synced(
                    node,
                    lambda: client.delete(f"{SWITCHES}/{switch.id}", params={"confirm": "DESTROY"}),
                )
