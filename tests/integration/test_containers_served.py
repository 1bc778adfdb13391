"""Containers on a served node, for real (libvirt's LXC driver, Open vSwitch, a directory
pool): the busybox image is uploaded and deployed through the HTTP API as an unprivileged
container; it runs, a command run through the console WebSocket answers, its memory limit
shows inside and is enforced (a process growing past it is killed), it pings a host of the
lab on its port group's VLAN and not one on another, a directory volume attached as a mount
point is written to from inside (files owned by the mapped root on the node), and stop,
start, kill, restart and destroy work. A daemon SIGKILLed in the middle of a container
deploy (its root filesystem being unpacked) leaves it fully there or completely gone.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from cloudenv.drivers.compute.container_mounts import MOUNT_DIR
from cloudenv.drivers.network.base import PortVlan, VlanMode
from cloudenv.drivers.network.ovs import OvsNetworkDriver
from tests.integration.test_compute_served import Node, _console, _read_until
from tests.integration.test_instance_network import Switch, vswitch
from tests.support.compute import real_node_dir, succeed, wait_task
from tests.support.console import cli_console
from tests.support.container_images import build_busybox_rootfs, tar_of_directory
from tests.support.libvirt import ensure_libvirtd
from tests.support.ovs import Lab
from tests.support.served_node import Server, cloudenv_command, hermetic_env, serving

pytestmark = pytest.mark.integration

SUBNET = "10.77.30"
MEMORY_MB = 64
_marks = itertools.count(1)


@pytest.fixture(scope="module")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return tar_of_directory(build_busybox_rootfs(tmp_path_factory.mktemp("busybox") / "root"))


def upload_image(node: Node, data: bytes, name: str) -> str:
    images = f"/api/v1/nodes/{node.id}/images/images"
    response = node.client.post(
        images, params={"storage_pool_id": node.pool, "name": name}, content=data, timeout=60
    )
    succeed(node.client, response)
    return name


@contextlib.contextmanager
def busybox_image(node: Node, data: bytes, name: str) -> Iterator[str]:
    """The busybox container image on the node, deleted afterwards."""
    images = f"/api/v1/nodes/{node.id}/images/images"
    upload_image(node, data, name)
    try:
        yield name
    finally:
        gone = node.client.delete(f"{images}/{name}")
        if gone.status_code == 202:
            wait_task(node.client, gone.json()["task_id"])


def deploy_body(node: Node, name: str, image: str, **extra: Any) -> dict[str, Any]:
    return {
        "destination": {"node_id": node.id},
        "name": name,
        "type": 1,
        "image": image,
        "cpu": {"sockets": 1, "cores": 1, "threads": 1},
        "memory": MEMORY_MB,
        "autostart": False,
        "metadata": {"_type": "lxc", "init": "/sbin/init"},
        **extra,
    }


def domain(instance_id: str) -> tuple[int | None, str]:
    """The container's libvirt state and live XML (None, "" when there is no domain)."""
    conn = libvirt.open("lxc:///system")
    try:
        found = conn.lookupByName(instance_id)
        return int(found.state()[0]), found.XMLDesc(0)
    except libvirt.libvirtError:
        return None, ""
    finally:
        conn.close()


def shell(socket: Any, command: str, timeout: float = 30.0) -> str:
    """Run ``command`` in the container's console shell; its output up to a marker of its
    own (so output a console shows twice never passes for this command's)."""
    n = next(_marks)
    socket.send(f"{command}; echo DONE-$(({n}+1000))\n".encode())
    seen = _read_until(socket, f"DONE-{n + 1000}\r\n".encode(), timeout)
    return seen.decode(errors="replace")


@contextlib.contextmanager
def console(node: Node, instance_id: str) -> Iterator[Any]:
    """The container's console (it shows nothing before it opened: wake the shell up)."""
    with _console(node, instance_id, "serial") as socket:
        shell(socket, "true")
        yield socket


def run(node: Node, response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    return wait_task(node.client, response.json()["task_id"])


@pytest.fixture(scope="module")
def node(real_node: Server) -> Iterator[Node]:
    with real_node.admin() as client:
        yield Node(real_node, client)


def test_a_busybox_container_through_the_api(
    node: Node, lab: Lab, busybox_tar: bytes, tmp_path: Path
) -> None:
    with (
        busybox_image(node, busybox_tar, f"ct-busybox-{lab.tag}.tar") as image,
        vswitch(node, lab) as switch,
    ):
        peer10 = lab.host("a", f"{SUBNET}.9/24")
        peer20 = lab.host("b", f"{SUBNET}.8/24")
        ovs = OvsNetworkDriver()
        for peer, tag in ((peer10, 10), (peer20, 20)):
            lab.plug(switch.name, peer)
            ovs.set_port_vlan(switch.name, peer.mac, PortVlan(VlanMode.ACCESS, tag))
        networks = [{"vswitch_id": switch.id, "port_group_name": "v10"}]
        body = deploy_body(node, f"ct-{lab.tag}", image, networks=networks)
        deployed = succeed(node.client, node.client.post("/api/v2/instances", json=body))
        instance_id = str(deployed["target_id"])
        try:
            exercise(node, lab, switch, instance_id, peer10.ip, peer20.ip, tmp_path)
        finally:  # what the test did not get to destroy
            if node.client.get(f"/api/v1/instances/{instance_id}").status_code == 200:
                node.power(instance_id, "kill")
            gone = node.client.delete(
                f"/api/v1/instances/{instance_id}",
                params={"confirm": "DESTROY", "destroy_volumes": "true"},
            )
            if gone.status_code == 202:
                wait_task(node.client, gone.json()["task_id"])


def cli_env(node: Node, home: Path) -> dict[str, str]:
    """An environment in which ``cloudenv`` is signed in to the node as the test's client."""
    env = hermetic_env(home)
    config = Path(env["CLOUDENV_CONFIG_DIR"])
    config.mkdir(mode=0o700, parents=True, exist_ok=True)
    login = {
        "url": node.server.url,
        "token": node.client.headers["Authorization"].removeprefix("Bearer "),
        "username": "pceadmin",
        "cert_file": str(node.server.node.ca),
    }
    (config / "login.json").write_text(json.dumps(login))
    return env


def exercise(
    node: Node,
    lab: Lab,
    switch: Switch,
    instance_id: str,
    ip10: str,
    ip20: str,
    tmp_path: Path,
) -> None:
    shown = node.client.get(f"/api/v1/instances/{instance_id}").json()["instance"]
    assert (shown["type"], shown["state"]) == (1, "running"), shown
    state, xml = domain(instance_id)
    assert state == libvirt.VIR_DOMAIN_RUNNING
    assert "<privnet/>" in xml and "<idmap>" in xml
    devices = node.client.get(f"/api/v1/instances/{instance_id}/devices").json()
    [root] = [d for d in devices if d["is_root"]]
    assert node.client.get(f"/api/v1/volumes/{root['resource_id']}").json()["attached"]
    rootfs = node.pool_dir / root["resource_id"]  # a directory volume is named by its ID
    assert (rootfs / "bin" / "busybox").is_file()
    assert (rootfs / "etc").stat().st_uid == 100000  # unprivileged: owners shifted
    # libvirt names the running container after its domain; /etc/hostname has its name
    assert (rootfs / "etc" / "hostname").read_text() == f"{shown['name']}\n"

    with console(node, instance_id) as socket:
        assert "42-answered" in shell(socket, "echo $((6*7))-answered")
        assert "uid=0(root)" in shell(socket, "id")
        mapped = shell(socket, "cat /proc/self/uid_map")
        assert " 100000 " in mapped  # root inside is uid 100000 on the node
        memory = shell(socket, "grep MemTotal /proc/meminfo")
        assert f"{MEMORY_MB * 1024} kB" in memory  # libvirt's /proc/meminfo shows the limit
        grown = shell(socket, "awk 'BEGIN{s=\"x\"; while(1) s=s s}'; echo rc=$?", timeout=120)
        assert "rc=137" in grown and "Killed" in grown

        # Its NIC is a port of the vSwitch with the port group's VLAN.
        mac = next(d["metadata"]["data"]["mac"] for d in devices if d["type"] == 1)
        ports = {p.mac: p.vlan for p in OvsNetworkDriver().ports(switch.name) if p.mac}
        assert ports[mac] == PortVlan(VlanMode.ACCESS, 10)
        shell(socket, f"ip addr add {SUBNET}.2/24 dev eth0; ip link set eth0 up")
        replies = ""
        deadline = time.monotonic() + 60
        while "bytes from" not in replies and time.monotonic() < deadline:
            replies = shell(socket, f"ping -c 2 -W 2 {ip10}", timeout=30)
        assert f"bytes from {ip10}" in replies, replies
        other = shell(socket, f"ping -c 2 -W 1 {ip20}", timeout=30)
        assert f"bytes from {ip20}" not in other and "0 packets received" in other

    # A directory volume as a mount point: attached while running, there from next start.
    made = node.client.post(
        "/api/v1/volumes",
        json={"node_id": node.id, "storage_pool_id": node.pool, "name": f"ct-data-{lab.tag}",
              "size": 1, "driver": "dir"},
    )  # fmt: skip
    assert run(node, made)["status"] == "succeeded"
    data_id = made.json()["id"]
    attach = node.client.post(
        f"/api/v1/instances/{instance_id}/devices",
        json={"name": "data", "type": 2, "metadata": {"data": {"volume_id": data_id,
                                                               "path": "/mnt/data"}}},
    )  # fmt: skip
    assert attach.json()["needs_reboot"] is True
    assert run(node, attach)["status"] == "succeeded"

    # stop: busybox's init ignores libvirt's SIGTERM; the stop ends in a forced one.
    stopped = node.power(instance_id, "stop", timeout=3)
    assert stopped["status"] == "succeeded", [line["message"] for line in stopped["log"]]
    assert domain(instance_id)[0] == libvirt.VIR_DOMAIN_SHUTOFF
    assert node.power(instance_id, "start")["status"] == "succeeded"
    assert domain(instance_id)[0] == libvirt.VIR_DOMAIN_RUNNING
    assert "/mnt/data" in domain(instance_id)[1]
    with console(node, instance_id) as socket:
        wrote = shell(socket, "echo from-the-container > /mnt/data/note && cat /mnt/data/note")
        assert "from-the-container" in wrote
    note = node.pool_dir / f"{data_id}.dir" / "note"
    assert note.read_text() == "from-the-container\n"
    assert note.stat().st_uid == 100000  # written by the container's root, mapped

    assert node.power(instance_id, "kill")["status"] == "succeeded"
    assert domain(instance_id)[0] == libvirt.VIR_DOMAIN_SHUTOFF
    assert node.power(instance_id, "start")["status"] == "succeeded"
    assert node.power(instance_id, "restart", timeout=3)["status"] == "succeeded"
    assert domain(instance_id)[0] == libvirt.VIR_DOMAIN_RUNNING
    with console(node, instance_id) as socket:
        assert "1-again" in shell(socket, "echo 1-again")
    # The CLI's console is a container's console too (the one viewer above has left).
    cli_console(
        [*cloudenv_command(), "instance", "console", instance_id],
        cli_env(node, tmp_path),
        b"echo CLI-$((6*7))\n",
        b"CLI-42",
    )

    # Destroy (stopped only, volumes too): the domain and the unpacked root are gone.
    refused = node.client.delete(f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY"})
    assert refused.status_code == 409, refused.text
    assert node.power(instance_id, "kill")["status"] == "succeeded"
    gone = node.client.delete(
        f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY", "destroy_volumes": "true"}
    )
    assert run(node, gone)["status"] == "succeeded"
    assert domain(instance_id) == (None, "")
    assert not rootfs.exists()
    assert node.client.get(f"/api/v1/volumes/{data_id}").status_code == 404
    assert not note.exists()


def _unpacking(pool_dir: Path, before: set[str]) -> bool:
    """The deploy task has made the root filesystem's directory and is filling it."""
    return any(p.is_dir() for p in pool_dir.iterdir() if p.name not in before)


def _defined(pool_dir: Path, before: set[str]) -> bool:
    """The deploy task has defined the container in libvirt (it may be starting)."""
    conn = libvirt.open("lxc:///system")
    try:
        for found in conn.listAllDomains():
            with contextlib.suppress(libvirt.libvirtError):
                if str(pool_dir) in found.XMLDesc(0):
                    return True
        return False
    finally:
        conn.close()


@pytest.mark.parametrize("moment", [_unpacking, _defined], ids=["unpacking", "defined"])
def test_a_daemon_killed_mid_deploy_leaves_the_container_whole_or_gone(
    busybox_tar: bytes, moment: Callable[[Path, set[str]], bool]
) -> None:
    """SIGKILL the daemon at a moment inside the deploy task (its root filesystem being
    unpacked, or the container just defined); after a restart the container is either
    running with its root, or gone with no row, directory or domain left."""
    ensure_libvirtd()
    with real_node_dir() as node_dir:
        with serving(node_dir) as server, server.admin() as client:
            node = Node(server, client)
            image = upload_image(node, busybox_tar, "ct-crash.tar")  # goes with the node
            before = {p.name for p in node.pool_dir.iterdir()}
            response = client.post("/api/v2/instances", json=deploy_body(node, "ct-crash", image))
            assert response.status_code == 202, response.text
            deadline = time.monotonic() + 60
            while not moment(node.pool_dir, before) and time.monotonic() < deadline:
                time.sleep(0.001)
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait(10)
        with serving(node_dir) as restarted, restarted.admin() as client:
            node = Node(restarted, client)
            task = wait_task(client, response.json()["task_id"])
            assert task["status"] in ("succeeded", "failed"), task
            listed = client.get("/api/v1/instances", params={"node_id": node.id}).json()
            instances = [i for i in listed if i["name"] == "ct-crash"]
            volumes = client.get("/api/v1/volumes", params={"node_id": node.id}).json()
            left = {p.name for p in node.pool_dir.iterdir()} - before
            if instances:  # fully there
                [item] = instances
                assert item["state"] == "running" and item["current_task_id"] is None, item
                assert domain(item["id"])[0] == libvirt.VIR_DOMAIN_RUNNING
                assert left == {v["id"] for v in volumes}
                assert node.power(item["id"], "kill")["status"] == "succeeded"
                gone = client.delete(
                    f"/api/v1/instances/{item['id']}",
                    params={"confirm": "DESTROY", "destroy_volumes": "true"},
                )
                assert run(node, gone)["status"] == "succeeded"
            else:  # completely gone
                assert "Undid the interrupted deploy" in task["log"][-1]["message"], task
                assert volumes == [] and left == set()
                conn = libvirt.open("lxc:///system")
                try:
                    assert not [
                        d for d in conn.listAllDomains() if str(node.pool_dir) in d.XMLDesc(0)
                    ]
                finally:
                    conn.close()


def _mounted(instance_id: str) -> list[str]:
    """The container's filesystem volumes the node has mounted (their directories' names)."""
    home = MOUNT_DIR / instance_id
    if not home.is_dir():
        return []
    return sorted(p.name for p in home.iterdir() if os.path.ismount(p))


def _debugfs(volume: Path, request: str) -> str:
    """What debugfs reads off a filesystem volume that nothing has mounted."""
    done = subprocess.run(
        ["debugfs", "-R", request, str(volume)], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_filesystem_volumes_are_mounted_by_the_node_while_the_container_runs(
    node: Node, busybox_tar: bytes
) -> None:
    """``rootfs_size``: the root filesystem is an ext4 volume of that size; a blank raw
    volume becomes a mount point (formatted for the container's root). The node mounts both
    while the container runs (libvirt can't mount them inside an unprivileged container),
    the container writes to them as its root, and stop, kill and destroy unmount them, as
    does the node's instance sync once the container has powered itself off."""
    tag = secrets.token_hex(2)
    with busybox_image(node, busybox_tar, f"ct-fs-{tag}.tar") as image:
        body = deploy_body(node, f"ct-fs-{tag}", image)
        body["metadata"]["rootfs_size"] = 1
        deployed = succeed(node.client, node.client.post("/api/v2/instances", json=body))
        instance_id = str(deployed["target_id"])
        try:
            devices = node.client.get(f"/api/v1/instances/{instance_id}/devices").json()
            [root] = [d for d in devices if d["is_root"]]
            rootfs = node.pool_dir / f"{root['resource_id']}.raw"
            assert rootfs.stat().st_size == 1024**3 and rootfs.is_file()
            assert _mounted(instance_id) == ["root"]
            with console(node, instance_id) as socket:
                mounts = shell(socket, "grep ' / ' /proc/mounts")
                assert " / ext4 " in mounts, mounts  # its root is the volume's filesystem
                assert "1-in-root" in shell(socket, "echo 1-in-root > /note; cat /note")

            made = node.client.post(
                "/api/v1/volumes",
                json={"node_id": node.id, "storage_pool_id": node.pool,
                      "name": f"ct-raw-{tag}", "size": 1, "driver": "raw"},
            )  # fmt: skip
            assert run(node, made)["status"] == "succeeded"
            raw_id = made.json()["id"]
            attach = node.client.post(
                f"/api/v1/instances/{instance_id}/devices",
                json={"name": "raw", "type": 2,
                      "metadata": {"data": {"volume_id": raw_id, "path": "/mnt/raw"}}},
            )  # fmt: skip
            attached = run(node, attach)
            assert attached["status"] == "succeeded", attached
            assert any("empty ext4 filesystem" in line["message"] for line in attached["log"])

            # stop unmounts; start mounts both (the new mount point from now on)
            assert node.power(instance_id, "stop", timeout=3)["status"] == "succeeded"
            assert _mounted(instance_id) == []
            assert node.power(instance_id, "start")["status"] == "succeeded"
            assert _mounted(instance_id) == sorted(["root", f"{raw_id}.raw"])
            with console(node, instance_id) as socket:
                wrote = shell(socket, "echo 2-on-raw > /mnt/raw/note && cat /mnt/raw/note /note")
                assert "2-on-raw" in wrote and "1-in-root" in wrote

            # kill unmounts too: the files are on the volumes, owned by the mapped root
            assert node.power(instance_id, "kill")["status"] == "succeeded"
            assert _mounted(instance_id) == []
            raw = node.pool_dir / f"{raw_id}.raw"
            assert _debugfs(raw, "cat /note") == "2-on-raw\n"
            assert "User: 100000" in _debugfs(raw, "stat /note")
            assert _debugfs(rootfs, "cat /note") == "1-in-root\n"
            assert f"ct-fs-{tag}" in _debugfs(rootfs, "cat /etc/hostname")

            # Powered off from inside: the node's instance sync lets go of its volumes.
            assert node.power(instance_id, "start")["status"] == "succeeded"
            assert _mounted(instance_id) == sorted(["root", f"{raw_id}.raw"])
            with console(node, instance_id) as socket:
                socket.send(b"poweroff\n")
            deadline = time.monotonic() + 90
            while _mounted(instance_id) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert _mounted(instance_id) == []
            assert domain(instance_id)[0] == libvirt.VIR_DOMAIN_SHUTOFF
        finally:
            gone = node.client.delete(
                f"/api/v1/instances/{instance_id}",
                params={"confirm": "DESTROY", "destroy_volumes": "true"},
            )
            if gone.status_code == 202:
                assert wait_task(node.client, gone.json()["task_id"])["status"] == "succeeded"
        assert _mounted(instance_id) == [] and not (MOUNT_DIR / instance_id).exists()
        assert not rootfs.exists()
