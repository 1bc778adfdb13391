"""A vSwitch through a served node's API on real Open vSwitch (userspace datapath): a veth
of the test's lab stands in for a NIC; the vSwitch made with it as uplink appears in OVS as
a bridge marked ours with that uplink port; a port group is accepted; a daemon restart
changes nothing in OVS (the start's reconcile finds all as wanted); deleting the vSwitch
removes the bridge. Everything made is removed even when a step fails."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.ovs import Lab, bridge_rows, vsctl
from tests.support.served_node import NodeDir, init_node, serving

pytestmark = pytest.mark.integration

SWITCHES = "/api/v1/networks/vswitches/standalone"
#: The agent is nudged at once; on a loaded machine OVS may take a while.
SETTLE_SECONDS = 120.0


def _settled(admin: httpx.Client, vsw: str) -> dict[str, Any]:
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        got = admin.get(f"{SWITCHES}/{vsw}")
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        if body["status"] != "pending" or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def _nics(admin: httpx.Client, node_id: str) -> dict[str, Any]:
    got = admin.get(f"/api/v1/nodes/{node_id}/network/interfaces")
    assert got.status_code == 200, got.text
    return {n["name"]: n for n in got.json()["networks"]}


def test_vswitch_on_real_ovs_survives_a_restart(lab: Lab, tmp_path: Path) -> None:
    uplink, _peer = lab.veth("u")  # before the daemon starts: its start reads the NICs
    name = lab.bridge_name()
    node: NodeDir = init_node(tmp_path / "node")
    node_id = node.settings.node_id
    with serving(node) as server, server.admin() as admin:
        assert uplink in _nics(admin, node_id)
        created = admin.post(
            SWITCHES, json={"node_id": node_id, "name": name, "config": {"uplinks": [uplink]}}
        )
        assert created.status_code == 200, created.text
        vsw = created.json()["id"]
        body = _settled(admin, vsw)
        assert body["status"] == "ready", body
        assert vsctl("br-get-external-id", name, "cloudenv-owned").strip() == "true"
        assert uplink in vsctl("list-ports", name).split()
        group = admin.post(
            f"{SWITCHES}/{vsw}/port_groups",
            json={"name": "Prod", "config": {"type": 1, "data": {"vlan_id": 10}}},
        )
        assert group.status_code == 200, group.text
    before = bridge_rows(name)
    with serving(node) as server, server.admin() as admin:
        # The restart's reconcile ran (a sync is queued at start); it found all as wanted.
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            tasks = admin.get("/api/v1/tasks").json()
            syncs = [t for t in tasks if t["kind"] == "network.sync"]
            if all(t["status"] in ("succeeded", "failed") for t in syncs) or (
                time.monotonic() > deadline
            ):
                break
            time.sleep(0.5)
        assert syncs and all(t["status"] == "succeeded" for t in syncs), syncs
        assert bridge_rows(name) == before, "the reconcile after the restart rewrote the bridge"
        assert _nics(admin, node_id)[uplink]["vswitch"] == name
        assert admin.delete(f"{SWITCHES}/{vsw}/port_groups/Prod").status_code == 200
        assert admin.delete(f"{SWITCHES}/{vsw}", params={"confirm": "DESTROY"}).status_code == 200
        deadline = time.monotonic() + SETTLE_SECONDS
        while name in vsctl("list-br").split() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert name not in vsctl("list-br").split()
