"""A volume's life through a served node, for real (libvirt, QEMU under TCG, the test
guest): created in the node's directory pool, attached to a running guest, grown live
(the guest reads its new size in ``/sys/block/vdb/size``), detached, grown cold (the file's
virtual size), destroyed (the file is gone)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_compute_served import Node, _console, _read_until, _shell_until
from tests.support.compute import GuestImages, succeed, wait_marker
from tests.support.served_node import Server

pytestmark = pytest.mark.integration

GIB = 1024**3
SECTOR = 512


@pytest.fixture(scope="module")
def node(real_node: Server, guest_images: GuestImages) -> Iterator[Node]:
    """The worker's real node (shared with the other compute tests), the guest uploaded."""
    with real_node.admin() as client:
        yield Node(real_node, client)


def _virtual_size(path: Path) -> int:
    info = subprocess.run(
        ["qemu-img", "info", "--force-share", "--output=json", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return int(json.loads(info.stdout)["virtual-size"])


def _volume(node: Node, volume_id: str) -> dict[str, Any]:
    response = node.client.get(f"/api/v1/volumes/{volume_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _sectors(socket: Any, wanted: int) -> bytes:
    """``/sys/block/vdb/size`` as the guest reads it, asked until it is ``wanted`` (the
    kernel learns of a hot-plug or a resize a moment after libvirt returns)."""
    return _shell_until(
        socket,
        b"cat /sys/block/vdb/size; echo SIZE-$((3+4))",
        b"SIZE-7\r\n",
        lambda output: f"\n{wanted}\r".encode() in output.split(b"SIZE-$((3+4))")[-1],
    ).split(b"SIZE-$((3+4))")[-1]


def test_create_attach_resize_live_and_cold_then_destroy(node: Node) -> None:
    instance_id = node.deploy("volumes-1", volume_gb=1)
    wait_marker(instance_id)
    created = node.client.post(
        "/api/v1/volumes",
        json={
            "node_id": node.id,
            "storage_pool_id": node.pool,
            "name": "data-live",
            "size": 1,
            "driver": "qcow2",
        },
    )
    succeed(node.client, created)
    volume_id = created.json()["id"]
    file = node.pool_dir / f"{volume_id}.qcow2"
    assert _virtual_size(file) == GIB
    assert (_volume(node, volume_id)["status"], _volume(node, volume_id)["size"]) == (1, 1)

    devices = f"/api/v1/instances/{instance_id}/devices"
    data = {"volume_id": volume_id, "bus": "virtio", "dev": "/dev/vdb"}
    attach = {
        "name": "data-1",
        "type": 2,
        "live": True,
        "metadata": {"_type": "storage_volume", "data": data},
    }
    succeed(node.client, node.client.post(devices, json=attach))
    resize = f"/api/v1/volumes/{volume_id}/resize"
    cold = node.client.post(resize, json={"delta_gb": 1, "live": False})
    assert cold.status_code == 409 and cold.json()["field"] == "live", cold.text
    with _console(node, instance_id, "serial") as socket:
        _read_until(socket, b"CLOUDENV-GUEST-READY")
        assert f"\n{GIB // SECTOR}\r".encode() in _sectors(socket, GIB // SECTOR)

        succeed(node.client, node.client.post(resize, json={"delta_gb": 1, "live": True}))

        assert f"\n{2 * GIB // SECTOR}\r".encode() in _sectors(socket, 2 * GIB // SECTOR)
    assert _volume(node, volume_id)["size"] == 2
    assert _virtual_size(file) == 2 * GIB

    succeed(node.client, node.client.delete(f"{devices}/data-1", params={"live": "true"}))
    assert _volume(node, volume_id)["attached"] is False
    succeed(node.client, node.client.post(resize, json={"delta_gb": 1, "live": False}))
    assert _volume(node, volume_id)["size"] == 3
    assert _virtual_size(file) == 3 * GIB

    gone = node.client.delete(f"/api/v1/volumes/{volume_id}", params={"confirm": "DESTROY"})
    succeed(node.client, gone)
    assert node.client.get(f"/api/v1/volumes/{volume_id}").status_code == 404
    assert not file.exists()
    node.power(instance_id, "kill")
    # The node is the worker's, shared with other modules: leave it as it was found.
    params = {"confirm": "DESTROY", "destroy_volumes": "true"}
    succeed(node.client, node.client.delete(f"/api/v1/instances/{instance_id}", params=params))
