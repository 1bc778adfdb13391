"""Cluster storage pools on a served node, for real: a directory pool created through the
API and enabled on the node is defined and started in libvirt by propagation and turns
green with the filesystem's usage; disabled, it is stopped and undefined; an LVM pool on
this machine (no device-mapper, no volume group) turns red naming the node."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.compute import real_node_dir
from tests.support.libvirt import ensure_libvirtd
from tests.support.served_node import Server, serving

pytestmark = pytest.mark.integration

#: Propagation is nudged at once; under a loaded machine libvirt may still take a while.
SETTLE_SECONDS = 120.0


@pytest.fixture(scope="module")
def node() -> Iterator[tuple[Server, httpx.Client]]:
    ensure_libvirtd()
    with real_node_dir() as node_dir, serving(node_dir) as server, server.admin() as client:
        yield server, client


def _settled(client: httpx.Client, pool_id: str, *, until: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        pool: dict[str, Any] = client.get(f"/api/v1/storage_pools/{pool_id}").json()
        if pool["status"] in until or time.monotonic() > deadline:
            return pool
        time.sleep(0.2)


def _libvirt_pools() -> str:
    return subprocess.run(
        ["virsh", "-c", "qemu:///system", "pool-list", "--all", "--name"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def test_a_directory_pool_is_propagated_to_the_node_and_removed_again(
    node: tuple[Server, httpx.Client],
) -> None:
    server, client = node
    node_id = server.health["id"]
    cluster_id = client.get(f"/api/v1/nodes/{node_id}").json()["node"]["cluster_id"]
    target = server.node.path / "pools" / "extra"  # under the node: cleaned up with it
    created = client.post(
        f"/api/v1/clusters/{cluster_id}/storage_pools",
        json={"name": "extra", "type": 0, "config": {"path": str(target)}},
    )
    assert created.status_code == 200, created.text
    pool_id = created.json()["id"]
    assert client.get(f"/api/v1/storage_pools/{pool_id}").json()["status"] == "none"

    enabled = client.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": [node_id]})
    assert enabled.status_code == 200, enabled.text
    pool = _settled(client, pool_id, until=("ok", "error"))
    assert pool["status"] == "ok", pool
    assert pool["nodes"] == [{"node_id": node_id, "state": "ready", "error": None}]
    assert target.is_dir()
    assert pool_id in _libvirt_pools().split()
    (on_node,) = [
        p for p in client.get(f"/api/v1/nodes/{node_id}/storage/pools").json() if p["id"] == pool_id
    ]
    assert on_node["available"] is True
    assert on_node["usage"]["capacity"] > 0 and on_node["usage"]["available"] > 0

    disabled = client.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": []})
    assert disabled.status_code == 200, disabled.text
    pool = _settled(client, pool_id, until=("none", "error"))
    assert (pool["status"], pool["nodes"]) == ("none", [])
    assert pool_id not in _libvirt_pools().split()

    destroyed = client.delete(f"/api/v1/storage_pools/{pool_id}", params={"confirm": "DESTROY"})
    assert destroyed.status_code == 200, destroyed.text
    assert client.get(f"/api/v1/storage_pools/{pool_id}").status_code == 404


def test_an_lvm_pool_without_its_volume_group_turns_red_naming_the_node(
    node: tuple[Server, httpx.Client],
) -> None:
    server, client = node
    node_id = server.health["id"]
    cluster_id = client.get(f"/api/v1/nodes/{node_id}").json()["node"]["cluster_id"]
    created = client.post(
        f"/api/v1/clusters/{cluster_id}/storage_pools",
        json={"name": "vgtest0", "type": 2, "config": {}},
    )
    assert created.status_code == 200, created.text
    pool_id = created.json()["id"]
    client.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": [node_id]})
    try:
        pool = _settled(client, pool_id, until=("ok", "error"))
        assert pool["status"] == "error", pool
        (state,) = pool["nodes"]
        assert state["state"] == "error"
        assert state["error"].startswith(f"{node_id}: "), state
        assert len(state["error"]) > len(node_id) + 2  # and says why
    finally:
        client.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": []})
        _settled(client, pool_id, until=("none",))
        client.delete(f"/api/v1/storage_pools/{pool_id}")
