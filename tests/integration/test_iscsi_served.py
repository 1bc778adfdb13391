"""An iSCSI storage pool through a served node's API, as a user drives it: a ``tgtd`` of
the test's own on 127.0.0.1 (tests/support/tgt.py) exports a 64 MiB LUN behind CHAP;
the pool is created on the cluster and enabled on the worker's real node, propagation
defines it in libvirt (userspace initiator, ``iscsi-direct``) and records the LUN as a
volume of the node; that volume is hot-attached to a running test guest, which writes a
marker to it and reads it back over its serial console, and the marker is then at the
start of the LUN's backing file on the host. On the way, what the product refuses for a
LUN (resize, destroy, disabling the pool while the LUN is attached) is refused with its
reason; an instance destroyed with its volumes leaves the LUN (the target's) free again;
the pool is then disabled (gone from libvirt) and destroyed. A wrong CHAP
secret turns a pool red, naming the node and the refused login.

The node is the xdist worker's, shared with other modules: everything made here (the
instance, the pools, tgtd) is removed even when a step fails.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import time
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import libvirt
import pytest

from tests.integration.test_compute_served import Node, _console, _read_until
from tests.support.compute import GuestImages, instance, succeed, wait_marker
from tests.support.served_node import Server
from tests.support.tgt import Target, Tgt, iscsi_target

pytestmark = pytest.mark.integration

MIB = 1024**2
#: Propagation is nudged at once; on a loaded machine libvirt and the login may take a while.
SETTLE_SECONDS = 120.0
GUEST_SECONDS = 30.0
LUN = "unit:0:0:1"  # libvirt's name for LUN 1 of the target (LUN 0 is tgt's controller)


@pytest.fixture(scope="module")
def node(real_node: Server, guest_images: GuestImages) -> Iterator[Node]:
    """The worker's real node (shared with the other compute tests), the guest uploaded."""
    with real_node.admin() as client:
        yield Node(real_node, client)


@pytest.fixture(scope="module")
def tgt() -> Iterator[Tgt]:
    with iscsi_target() as running:
        yield running


def _chap_user() -> str:
    """A CHAP account name of its own: tgtd's accounts are the daemon's, not a target's."""
    return f"cetest-{secrets.token_hex(3)}"


def _cluster(node: Node) -> str:
    return str(node.client.get(f"/api/v1/nodes/{node.id}").json()["node"]["cluster_id"])


def _pool(node: Node, pool_id: str) -> dict[str, Any]:
    response = node.client.get(f"/api/v1/storage_pools/{pool_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _settled(node: Node, pool_id: str, *, until: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        pool = _pool(node, pool_id)
        if pool["status"] in until or time.monotonic() > deadline:
            return pool
        time.sleep(0.2)


def _libvirt_pools() -> list[str]:
    listed = subprocess.run(
        ["virsh", "-c", "qemu:///system", "pool-list", "--all", "--name"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return listed.stdout.split()


@contextlib.contextmanager
def _iscsi_pool(node: Node, tgt: Tgt, target: Target, user: str, secret: str) -> Iterator[str]:
    """An iSCSI pool on ``target`` logging in as ``user`` with ``secret``, created on the
    node's cluster (enabled nowhere yet); afterwards disabled and destroyed, whatever
    state it was left in."""
    name = f"lun-{secrets.token_hex(3)}"
    config = {
        "portal": tgt.portal,
        "target": target.iqn,
        "chap_username": user,
        "chap_secret": secret,
    }
    created = node.client.post(
        f"/api/v1/clusters/{_cluster(node)}/storage_pools",
        json={"name": name, "type": 1, "config": config},
    )
    assert created.status_code == 200, created.text
    pool_id = str(created.json()["id"])
    try:
        yield pool_id
    finally:
        url = f"/api/v1/storage_pools/{pool_id}"
        if node.client.get(url).status_code != 404:  # the test may have destroyed it
            node.client.patch(url, json={"node_ids": []})
            _settled(node, pool_id, until=("none",))
            node.client.delete(url, params={"confirm": "DESTROY"})


def _enable(node: Node, pool_id: str) -> dict[str, Any]:
    enabled = node.client.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": [node.id]})
    assert enabled.status_code == 200, enabled.text
    return _settled(node, pool_id, until=("ok", "error"))


@contextlib.contextmanager
def _guest(node: Node, name: str) -> Iterator[str]:
    """A running test guest with no disk of its own (direct kernel boot); killed and
    destroyed afterwards unless the test did."""
    instance_id = node.deploy(name, volume_gb=0)
    try:
        wait_marker(instance_id)
        yield instance_id
    finally:
        # Unless the test destroyed it already.
        if node.client.get(f"/api/v1/instances/{instance_id}").status_code != 404:
            if instance(node.client, instance_id)["state"] != "stopped":
                node.power(instance_id, "kill")
            params = {"confirm": "DESTROY", "destroy_volumes": "false"}
            url = f"/api/v1/instances/{instance_id}"
            succeed(node.client, node.client.delete(url, params=params))


def _run(socket: Any, command: str) -> str:
    """``command`` in the guest's shell; what it printed, up to a token it prints last
    (the shell's echo of the command shows ``END-"$x"<token>``, so never the token)."""
    token = secrets.token_hex(4)
    socket.send(f'x=; {command}; echo END-"$x"{token}\n'.encode())
    seen = _read_until(socket, f"END-{token}".encode(), timeout=GUEST_SECONDS)
    return seen.split(f"END-{token}".encode())[0].decode(errors="replace")


def _device_with_serial(socket: Any, serial: str) -> str:
    """The guest's name for the disk with ``serial`` (a hot-plug shows up a moment later,
    and the guest names disks in the order it finds them, not by the requested target)."""
    deadline, seen = time.monotonic() + GUEST_SECONDS, ""
    while time.monotonic() < deadline:
        seen = _run(
            socket, "for d in /sys/block/vd*; do echo $(basename $d)=$(cat $d/serial); done"
        )
        for line in seen.splitlines():
            device, _, found = line.strip().partition("=")
            if found == serial:
                return device
        time.sleep(0.5)
    raise AssertionError(f"no disk with serial {serial} in the guest: {seen!r}")


def test_a_running_guest_writes_and_reads_a_lun_of_a_propagated_pool(node: Node, tgt: Tgt) -> None:
    user, password = _chap_user(), f"pw-{secrets.token_hex(6)}"
    target = tgt.add_target(64 * MIB, chap=(user, password))
    with (
        _iscsi_pool(node, tgt, target, user, password) as pool_id,
        _guest(node, "iscsi-1") as guest,
    ):
        shown = _pool(node, pool_id)
        assert shown["status"] == "none" and "chap_secret" not in shown["config"], shown
        assert password not in str(shown)

        pool = _enable(node, pool_id)
        assert pool["status"] == "ok", pool
        assert pool["nodes"] == [{"node_id": node.id, "state": "ready", "error": None}]
        assert pool_id in _libvirt_pools()

        # Propagation recorded the target's LUN as an available volume of the node.
        listed = node.client.get("/api/v1/volumes", params={"storage_pool_id": pool_id})
        assert listed.status_code == 200, listed.text
        (lun,) = listed.json()
        assert (lun["name"], lun["node_id"], lun["status"], lun["attached"]) == (
            LUN,
            node.id,
            1,
            False,
        )
        volume = f"/api/v1/volumes/{lun['id']}"

        devices = f"/api/v1/instances/{guest}/devices"
        attach = {
            "name": "lun-1",
            "type": 2,
            "live": True,
            "metadata": {
                "_type": "storage_volume",
                "data": {"volume_id": lun["id"], "bus": "virtio", "dev": "/dev/vdb"},
            },
        }
        succeed(node.client, node.client.post(devices, json=attach))
        attached = node.client.get(volume).json()
        assert (attached["attached"], attached["attached_to"]) == (True, guest), attached

        # What the product refuses for a LUN, each with its reason.
        resize = node.client.post(f"{volume}/resize", json={"delta_gb": 1, "live": True})
        assert resize.status_code == 409, resize.text
        assert "LUN of iSCSI pool" in resize.json()["message"]
        assert "size is set on the iSCSI target" in resize.json()["message"]
        destroy = node.client.delete(volume, params={"confirm": "DESTROY"})
        assert destroy.status_code == 409, destroy.text
        assert guest in destroy.json()["message"]  # attached: it says to whom
        disable = node.client.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": []})
        assert disable.status_code == 409, disable.text
        assert disable.json()["field"] == "node_ids"
        assert "can't be disabled on 1 attached LUN volume(s) on node " in disable.json()["message"]
        assert node.id in disable.json()["message"]
        assert "detach them from their instances first" in disable.json()["message"]
        assert _pool(node, pool_id)["status"] == "ok"

        serial = _attached_serial(guest)
        marker = f"CE-LUN-{secrets.token_hex(6)}"
        with _console(node, guest, "serial") as socket:
            device = _device_with_serial(socket, serial)
            # Written and flushed to the LUN, the page cache dropped: the read goes to it.
            _run(socket, f"printf '{marker}' > /dev/{device}; sync")
            _run(socket, "echo 3 > /proc/sys/vm/drop_caches")
            # The echoed command shows "READ-$(dd ...": only the read itself gives this.
            seen = _run(
                socket,
                f"echo READ-$(dd if=/dev/{device} bs=512 count=1 2>/dev/null "
                f"| head -c {len(marker)})-DONE",
            )
            assert f"READ-{marker}-DONE" in seen, seen
        assert target.backing.read_bytes()[: len(marker)] == marker.encode()

        succeed(node.client, node.client.delete(f"{devices}/lun-1", params={"live": "true"}))
        detached = node.client.get(volume).json()
        assert (detached["attached"], detached["status"]) == (False, 1), detached
        destroy = node.client.delete(volume, params={"confirm": "DESTROY"})
        assert destroy.status_code == 409, destroy.text
        assert "LUNs are removed on the iSCSI target" in destroy.json()["message"]

        # Attached again, the LUN outlives its instance destroyed with its volumes.
        succeed(node.client, node.client.post(devices, json=attach))
        node.power(guest, "kill")
        params = {"confirm": "DESTROY", "destroy_volumes": "true"}
        succeed(node.client, node.client.delete(f"/api/v1/instances/{guest}", params=params))
        assert node.client.get(f"/api/v1/instances/{guest}").status_code == 404
        kept = node.client.get(volume).json()
        assert (kept["status"], kept["attached"], kept["attached_to"]) == (1, False, None), kept

        disabled = node.client.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": []})
        assert disabled.status_code == 200, disabled.text
        pool = _settled(node, pool_id, until=("none", "error"))
        assert (pool["status"], pool["nodes"]) == ("none", []), pool
        assert pool_id not in _libvirt_pools()
        assert node.client.get(volume).status_code == 404  # the LUN's row went with it

        gone = node.client.delete(f"/api/v1/storage_pools/{pool_id}", params={"confirm": "DESTROY"})
        assert gone.status_code == 200, gone.text
        assert node.client.get(f"/api/v1/storage_pools/{pool_id}").status_code == 404
    assert target.backing.read_bytes()[: len(marker)] == marker.encode()  # the data stays


def _attached_serial(instance_id: str) -> str:
    """The serial the product gave the attached LUN's disk (how the guest tells it apart)."""
    conn = libvirt.open("qemu:///system")
    try:
        xml = conn.lookupByName(instance_id).XMLDesc(0)
    finally:
        conn.close()
    for disk in ElementTree.fromstring(xml).iter("disk"):  # noqa: S314 (libvirt's own XML)
        target = disk.find("target")
        if target is not None and target.get("dev") == "vdb":
            serial = disk.findtext("serial")
            assert serial, xml
            assert disk.get("type") == "volume", xml  # through the pool, not a path
            return serial
    raise AssertionError(f"no vdb disk in {instance_id}'s live definition: {xml}")


def test_a_wrong_chap_secret_turns_the_pool_red_naming_the_node(node: Node, tgt: Tgt) -> None:
    user = _chap_user()
    target = tgt.add_target(8 * MIB, chap=(user, f"pw-{secrets.token_hex(6)}"))
    with _iscsi_pool(node, tgt, target, user, "not-the-secret") as pool_id:
        pool = _enable(node, pool_id)
        assert pool["status"] == "error", pool
        (state,) = pool["nodes"]
        assert state["state"] == "error", state
        assert state["error"].startswith(f"{node.id}: "), state
        assert f"refused the CHAP login of user {user}" in state["error"], state
        assert "not-the-secret" not in state["error"]
        assert pool_id not in _libvirt_pools()
