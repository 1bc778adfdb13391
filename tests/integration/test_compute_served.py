"""Virtual machines through a served node, for real: libvirt, QEMU under TCG, the tiny
test guest. Deploy by direct kernel boot and from an ISO, power them through every
action, destroy with and without volumes, and crash the daemon in the middle of a deploy.

The tests are in classes that ``make test`` (xdist, ``--dist loadscope``) runs on one
worker each, against the worker's real node (``real_node`` of tests/conftest.py, which the
browser tests share), so classes on different workers boot their guests side by side.
Each class leaves the node as it found it (``node`` destroys what the class deployed or
uploaded), apart from volumes the API has no way to remove. Tests that only look at a
booted guest share one (``kernel_guest``); every other guest is killed by the test that
made it, as an idle guest under TCG still takes CPU that other tests wait for. The crash
test kills its daemon, so it has a node of its own."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import libvirt
import pytest
from websockets.exceptions import ConnectionClosed

from tests.guest.build import DISKS_PREFIX
from tests.support.compute import (
    GuestImages,
    deploy_body,
    instance,
    real_node_dir,
    remove_domains,
    serial_line,
    succeed,
    upload_guest,
    wait_marker,
    wait_task,
)
from tests.support.libvirt import ensure_libvirtd
from tests.support.served_node import Server, serving

pytestmark = pytest.mark.integration


class Node:
    def __init__(self, server: Server, client: httpx.Client) -> None:
        self.server, self.client = server, client
        self.id: str = server.health["id"]
        pools = client.get(f"/api/v1/nodes/{self.id}/storage/pools").json()
        self.pool: str = pools[0]["id"]
        self.pool_dir = server.node.path / "pools" / "default"

    def deploy(self, name: str, **kwargs: Any) -> str:
        response = self.client.post(
            "/api/v2/instances", json=deploy_body(self.id, self.pool, name, **kwargs)
        )
        return str(succeed(self.client, response)["target_id"])

    def power(self, instance_id: str, action: str, **extra: Any) -> dict[str, Any]:
        response = self.client.post(
            f"/api/v1/instances/{instance_id}/power", json={"action": action, **extra}
        )
        return wait_task(self.client, response.json()["task_id"])


@contextlib.contextmanager
def _served_node() -> Iterator[Node]:
    """A node set up and served, with the test guest's images uploaded; every domain it
    made is removed afterwards."""
    ensure_libvirtd()
    with real_node_dir() as node_dir, serving(node_dir) as server, server.admin() as client:
        served = Node(server, client)
        try:
            upload_guest(client, served.id, served.pool)
            yield served
        finally:
            remove_domains(served.pool_dir)


@pytest.fixture(scope="class")
def node(real_node: Server, guest_images: GuestImages) -> Iterator[Node]:
    """The worker's real node with the test guest's images; the instances (with their
    volumes) and images the class made are destroyed after it."""
    with real_node.admin() as client:
        served = Node(real_node, client)
        instances_before = set(_instance_ids(served))
        images_before = set(_image_names(served))
        yield served
        for instance_id in set(_instance_ids(served)) - instances_before:
            if instance(client, instance_id)["state"] != "stopped":
                served.power(instance_id, "kill")
            succeed(
                client,
                client.delete(
                    f"/api/v1/instances/{instance_id}",
                    params={"confirm": "DESTROY", "destroy_volumes": "true"},
                ),
            )
        for name in set(_image_names(served)) - images_before:
            response = client.delete(
                f"/api/v1/nodes/{served.id}/images/images/{name}", params={"confirm": "DESTROY"}
            )
            succeed(client, response)


def _instance_ids(node: Node) -> list[str]:
    listed = node.client.get("/api/v1/instances", params={"node_id": node.id}).json()
    return [str(i["id"]) for i in listed]


def _image_names(node: Node) -> list[str]:
    listed = node.client.get(f"/api/v1/nodes/{node.id}/images/images").json()
    return [str(i["name"]) for i in listed]


@pytest.fixture(scope="class")
def kernel_guest(node: Node) -> Iterator[str]:
    """One guest deployed by direct kernel boot and booted (its marker printed), for the
    tests that only look at it or talk to its consoles; killed after them."""
    instance_id = node.deploy("kernel-1", volume_gb=0)
    wait_marker(instance_id)
    yield instance_id
    node.power(instance_id, "kill")


def _shell_until(
    socket: Any, command: bytes, end: bytes, done: Callable[[bytes], bool], timeout: float = 30.0
) -> bytes:
    """Run ``command`` in the guest's shell over the console ``socket`` (what it prints ends
    with ``end``) again until ``done`` holds for its output or ``timeout`` passed; returns
    the last output, which the caller asserts on."""
    deadline = time.monotonic() + timeout
    while True:
        socket.send(b"\n" + command + b"\n")
        output = _read_until(socket, end)
        if done(output) or time.monotonic() > deadline:
            return output
        time.sleep(0.5)


def _domain_state(instance_id: str) -> int | None:
    conn = libvirt.open("qemu:///system")
    try:
        return int(conn.lookupByName(instance_id).state()[0])
    except libvirt.libvirtError:
        return None
    finally:
        conn.close()


def _as_nobody(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "nobody", "--", *command], capture_output=True, text=True, timeout=30
    )


def _console(node: Node, instance_id: str, kind: str) -> Any:
    from websockets.exceptions import InvalidHandshake
    from websockets.sync.client import connect

    from cloudenv.tls import client_ssl_context

    grant = node.client.post(f"/api/v1/instances/{instance_id}/console", json={"kind": kind})
    assert grant.status_code == 200, grant.text
    url = f"wss://127.0.0.1:{node.server.port}{grant.json()['websocket']}"
    started = time.monotonic()
    try:
        # Generous: the handshake waits for the ticket's database write, which a node
        # loaded by the whole suite on two cores once took over 10 s to get to (CI). Tests
        # don't assert on time; this only bounds a hang.
        return connect(url, ssl=client_ssl_context(node.server.node.ca), open_timeout=60)
    except (TimeoutError, InvalidHandshake, EOFError, OSError) as exc:
        # What the daemon was doing meanwhile is the only clue to a handshake that hangs or
        # is cut (CI saw both, under the whole suite's load).
        tail = node.server.log()[-8000:]
        took = time.monotonic() - started
        raise AssertionError(
            f"The console's handshake failed after {took:.1f} s ({exc!r}); the daemon's "
            f"log:\n{tail}"
        ) from None


def _read_until(socket: Any, needle: bytes, timeout: float = 30.0) -> bytes:
    seen, deadline = b"", time.monotonic() + timeout
    while needle not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{needle!r} not seen; got {seen[-300:]!r}")
        try:
            message = socket.recv(timeout=remaining)
        except TimeoutError:
            continue
        seen += message if isinstance(message, bytes) else message.encode()
    return seen


def _has_disk(instance_id: str, target: str, *, persistent: bool) -> bool:
    conn = libvirt.open("qemu:///system")
    try:
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE if persistent else 0
        return f"dev='{target}'" in conn.lookupByName(instance_id).XMLDesc(flags)
    finally:
        conn.close()


class TestBoot:
    """Deploys that boot: from an ISO under UEFI, guests' files out of reach."""

    def test_guest_files_are_out_of_reach_of_other_local_accounts(self, node: Node) -> None:
        """Two guests share one ISO and both boot from it; neither's disk, the ISO nor the
        pool's listing is open to an unprivileged account while they run, and the uploads'
        staging area is root's alone."""
        first = node.deploy("private-1", boot="iso", volume_gb=1)
        second = node.deploy("private-2", boot="iso", volume_gb=1)
        wait_marker(first, timeout=120)
        wait_marker(second, timeout=120)
        assert _domain_state(first) == _domain_state(second) == libvirt.VIR_DOMAIN_RUNNING
        volumes = node.client.get("/api/v1/volumes", params={"node_id": node.id}).json()
        disk = node.pool_dir / next(
            f"{v['id']}.qcow2" for v in volumes if v["attached_to"] == first
        )
        iso = node.pool_dir / "image-guest.iso"
        qemu = pwd.getpwnam("libvirt-qemu").pw_uid
        for path in (disk, iso):
            info = path.stat()
            assert stat.S_IMODE(info.st_mode) == 0o600, path
            assert info.st_uid == qemu, f"{path}: libvirt hands a file in use to QEMU's user"
            read = _as_nobody("head", "-c4", str(path))
            assert read.returncode != 0 and "Permission denied" in read.stderr, read
        assert stat.S_IMODE(node.pool_dir.stat().st_mode) == 0o711
        assert _as_nobody("ls", str(node.pool_dir)).returncode != 0
        staging = node.server.node.path / "staging"
        assert stat.S_IMODE(staging.stat().st_mode) == 0o700
        for instance_id in (first, second):
            node.power(instance_id, "kill")

    def test_uefi_q35_deploy_boots_from_the_iso(self, node: Node) -> None:
        """The product's clients default to UEFI: OVMF on q35, Secure Boot off, CD-ROM on SATA."""
        instance_id = node.deploy(
            "uefi-1", boot="iso", volume_gb=1, firmware="efi", machine_type="q35"
        )
        wait_marker(instance_id, timeout=120)
        conn = libvirt.open("qemu:///system")
        try:
            xml = conn.lookupByName(instance_id).XMLDesc(0)
        finally:
            conn.close()
        assert "OVMF" in xml and "secure='yes'" not in xml and "bus='sata'" in xml
        node.power(instance_id, "kill")

    def test_stop_that_times_out_points_to_force_stop(self, node: Node) -> None:
        instance_id = node.deploy("stuck-1", volume_gb=0)
        # Ask before the guest's acpid runs (it starts after boot): the button is ignored.
        task = node.power(instance_id, "stop", timeout=1)
        if task["status"] == "succeeded":  # the guest was faster than the request: try again
            node.power(instance_id, "start")
            task = node.power(instance_id, "stop", timeout=1)
        assert task["status"] == "failed"
        assert task["message"] == "The guest did not shut down within 1 s; use Force Stop."
        assert node.power(instance_id, "kill")["status"] == "succeeded"


class TestPower:
    """Power actions, and guests that boot from the CD-ROM or power themselves off."""

    def test_iso_deploy_boots_from_the_cdrom_with_a_fresh_volume(self, node: Node) -> None:
        instance_id = node.deploy("iso-1", boot="iso", volume_gb=1)
        wait_marker(instance_id, timeout=90)
        serials = serial_line(instance_id, DISKS_PREFIX)
        volume = node.client.get("/api/v1/volumes", params={"node_id": node.id}).json()
        mine = next(v for v in volume if v["attached_to"] == instance_id)
        assert mine["id"].split("-", 1)[1][:20] in serials  # the guest sees the volume's serial
        assert (node.pool_dir / f"{mine['id']}.qcow2").exists()
        node.power(instance_id, "kill")

    def test_power_actions_on_a_real_guest(self, node: Node) -> None:
        instance_id = node.deploy("power-1", volume_gb=0)
        wait_marker(instance_id)
        time.sleep(1)  # let the guest's acpid start after the marker
        stopped = node.power(instance_id, "stop", timeout=60)
        assert stopped["status"] == "succeeded", stopped
        assert instance(node.client, instance_id)["state"] == "stopped"
        assert _domain_state(instance_id) == libvirt.VIR_DOMAIN_SHUTOFF
        assert node.power(instance_id, "start")["status"] == "succeeded"
        wait_marker(instance_id)  # the log starts afresh (append='off') at every start
        time.sleep(1)
        assert node.power(instance_id, "restart", timeout=60)["status"] == "succeeded"
        assert instance(node.client, instance_id)["state"] == "running"
        wait_marker(instance_id)
        assert node.power(instance_id, "kill")["status"] == "succeeded"
        assert _domain_state(instance_id) == libvirt.VIR_DOMAIN_SHUTOFF

    def test_a_guest_that_powers_itself_off_becomes_stopped(self, node: Node) -> None:
        instance_id = node.deploy("self-off-1", volume_gb=0)
        wait_marker(instance_id)
        with _console(node, instance_id, "serial") as socket:
            socket.send(b"\npoweroff -f\n")
            with contextlib.suppress(ConnectionClosed):
                _read_until(socket, b"never printed", timeout=30)  # ends when QEMU exits
        deadline = time.monotonic() + 30
        while instance(node.client, instance_id)["state"] != "stopped":
            assert time.monotonic() < deadline, instance(node.client, instance_id)
            time.sleep(0.2)
        assert instance(node.client, instance_id)["desired_state"] == "stopped"
        assert _domain_state(instance_id) == libvirt.VIR_DOMAIN_SHUTOFF


class TestVolumes:
    """Destroy with and without volumes, volumes attached and detached, snapshots."""

    def test_destroy_with_and_without_volumes(self, node: Node) -> None:
        gone = node.deploy("destroy-1", volume_gb=1)
        kept = node.deploy("destroy-2", volume_gb=1)
        volumes = {
            v["attached_to"]: v["id"]
            for v in node.client.get("/api/v1/volumes", params={"node_id": node.id}).json()
        }
        running = node.client.delete(f"/api/v1/instances/{gone}", params={"confirm": "DESTROY"})
        assert running.status_code == 409
        for instance_id in (gone, kept):
            node.power(instance_id, "kill")
        succeed(
            node.client,
            node.client.delete(
                f"/api/v1/instances/{gone}",
                params={"confirm": "DESTROY", "destroy_volumes": "true"},
            ),
        )
        succeed(
            node.client,
            node.client.delete(f"/api/v1/instances/{kept}", params={"confirm": "DESTROY"}),
        )
        assert _domain_state(gone) is None and _domain_state(kept) is None
        assert not (node.pool_dir / f"{volumes[gone]}.qcow2").exists()
        assert (node.pool_dir / f"{volumes[kept]}.qcow2").exists()
        listed = {v["id"]: v for v in node.client.get("/api/v1/volumes").json()}
        assert volumes[gone] not in listed and listed[volumes[kept]]["attached"] is False

    def test_live_volume_attach_and_snapshots_through_the_api(self, node: Node) -> None:
        """A second volume attached live shows up inside the guest (by its serial) and goes
        again when detached; a snapshot is taken, reverted to and deleted."""
        donor = node.deploy("donor-1", volume_gb=1)
        node.power(donor, "kill")
        succeed(
            node.client,
            node.client.delete(f"/api/v1/instances/{donor}", params={"confirm": "DESTROY"}),
        )
        spare = next(v for v in node.client.get("/api/v1/volumes").json() if not v["attached"])
        instance_id = node.deploy("attach-1", volume_gb=1)
        wait_marker(instance_id)
        serial = spare["id"].split("-", 1)[1][:20]
        attach = node.client.post(
            f"/api/v1/instances/{instance_id}/devices/",
            json={
                "name": "data-1",
                "type": 2,
                "live": True,
                "metadata": {
                    "_type": "storage_volume",
                    "data": {"volume_id": spare["id"], "bus": "virtio", "dev": "/dev/vdb"},
                },
            },
        )
        assert attach.status_code == 202, attach.text
        assert attach.json()["needs_reboot"] is False
        succeed(node.client, attach)
        with _console(node, instance_id, "serial") as socket:
            _read_until(socket, b"CLOUDENV-GUEST-READY")
            # Hot-plug is asynchronous: the task is done once libvirt plugged the disk in,
            # the guest's kernel sees it a moment later (longer on a busy host).
            seen = _shell_until(
                socket,
                b"cat /sys/block/vd*/serial; echo; echo SERIALS-$((1+1))",
                b"SERIALS-2\r\n",
                lambda output: serial.encode() in output,
            )
            assert serial.encode() in seen
            root = node.client.delete(f"/api/v1/instances/{instance_id}/devices/disk0/")
            assert root.status_code == 409
            detach = node.client.delete(
                f"/api/v1/instances/{instance_id}/devices/data-1/", params={"live": "true"}
            )
            succeed(node.client, detach)
            listing = _shell_until(
                socket,
                b"ls /sys/block; echo LIST-$((2+1))",
                b"LIST-3\r\n",
                lambda output: b"vdb" not in output.split(b"LIST-$((2+1))")[-1],
            ).split(b"LIST-$((2+1))")[-1]
            assert b"vdb" not in listing
        snapshots = f"/api/v1/instances/{instance_id}/snapshots"
        succeed(node.client, node.client.post(snapshots, json={"name": "before-change"}))
        assert [s["name"] for s in node.client.get(snapshots).json()] == ["before-change"]
        succeed(node.client, node.client.post(f"{snapshots}/before-change/revert"), timeout=180)
        assert instance(node.client, instance_id)["state"] == "running"
        succeed(
            node.client,
            node.client.delete(f"{snapshots}/before-change", params={"confirm": "DESTROY"}),
        )
        assert node.client.get(snapshots).json() == []
        node.power(instance_id, "kill")

    def test_a_detach_needing_a_reboot_keeps_the_volume_until_the_guest_stops(
        self, node: Node
    ) -> None:
        """Detached with live=false from a running guest, the volume leaves the definition at
        once but stays attached (the guest still has it) until the instance stops."""
        donor = node.deploy("donor-2", volume_gb=1)
        node.power(donor, "kill")
        succeed(node.client, node.client.delete(f"/api/v1/instances/{donor}"))  # no word: OK
        spare = next(v for v in node.client.get("/api/v1/volumes").json() if not v["attached"])
        instance_id = node.deploy("late-1", volume_gb=1)
        wait_marker(instance_id)
        devices = f"/api/v1/instances/{instance_id}/devices"
        data = {"volume_id": spare["id"], "bus": "virtio", "dev": "/dev/vdb"}
        body = {"name": "data-1", "type": 2, "metadata": {"_type": "storage_volume", "data": data}}
        succeed(node.client, node.client.post(devices, json=body))
        detach = node.client.delete(f"{devices}/data-1", params={"live": "false"})
        assert detach.json()["needs_reboot"] is True
        succeed(node.client, detach)

        def volume() -> dict[str, Any]:
            listed = node.client.get("/api/v1/volumes").json()
            return next(v for v in listed if v["id"] == spare["id"])

        assert (volume()["attached_to"], volume()["status"]) == (instance_id, 3)
        statuses = {d["name"]: d["status"] for d in node.client.get(devices).json()}
        assert statuses["data-1"] == "detaching"
        assert _has_disk(instance_id, "vdb", persistent=False)
        assert not _has_disk(instance_id, "vdb", persistent=True)

        assert node.power(instance_id, "kill")["status"] == "succeeded"
        assert (volume()["attached"], volume()["status"]) == (False, 1)
        assert "data-1" not in {d["name"] for d in node.client.get(devices).json()}
        assert node.power(instance_id, "start")["status"] == "succeeded"
        assert not _has_disk(instance_id, "vdb", persistent=False)
        node.power(instance_id, "kill")


class TestConsoles:
    """One booted guest's consoles, a deploy from a disk image, and the CLI."""

    def test_direct_kernel_deploy_boots_the_guest(self, node: Node, kernel_guest: str) -> None:
        instance_id = kernel_guest  # deployed, and its marker seen, by the fixture
        assert instance(node.client, instance_id)["state"] == "running"
        assert _domain_state(instance_id) == libvirt.VIR_DOMAIN_RUNNING
        wait_marker(instance_id)
        caps = node.client.get(f"/api/v1/nodes/{node.id}/capabilities").json()["x86_64"]
        assert caps["accelerator"] == "tcg" and caps["kvm_supported"] is False

    def test_marker_and_shell_through_the_console_websocket(
        self, node: Node, kernel_guest: str
    ) -> None:
        instance_id = kernel_guest
        with _console(node, instance_id, "serial") as socket:
            _read_until(socket, b"CLOUDENV-GUEST-READY")  # the boot, shown to a late console
            socket.send(b"\necho CONSOLE-$((40+2))\n")
            _read_until(socket, b"CONSOLE-42")
        with _console(node, instance_id, "vnc") as socket:
            assert _read_until(socket, b"\n", 10).startswith(b"RFB 003.008")

    def test_console_tickets_are_single_use_and_per_tenant(
        self, node: Node, kernel_guest: str
    ) -> None:
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        from cloudenv.tls import client_ssl_context

        instance_id = kernel_guest
        grant = node.client.post(
            f"/api/v1/instances/{instance_id}/console", json={"kind": "serial"}
        ).json()
        url = f"wss://127.0.0.1:{node.server.port}{grant['websocket']}"
        context = client_ssl_context(node.server.node.ca)
        with connect(url, ssl=context) as first:
            first.send(b"\n")
        with connect(url, ssl=context) as again, pytest.raises(ConnectionClosed) as closed:
            again.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

    def test_disk_image_is_copied_into_the_root_volume(
        self, node: Node, tmp_path_factory: Any
    ) -> None:
        """Deploy with a disk image: the new root volume starts as a copy of it."""
        image = tmp_path_factory.mktemp("img") / "disk.raw"
        with image.open("wb") as handle:
            handle.write(b"CLOUDENV-DISK-IMAGE-0042")
            handle.truncate(8 * 1024 * 1024)
        upload = node.client.post(
            f"/api/v1/nodes/{node.id}/images/images",
            params={"storage_pool_id": node.pool, "name": "disk.raw"},
            content=image.read_bytes(),
        )
        succeed(node.client, upload)
        body = deploy_body(node.id, node.pool, "from-image-1", volume_gb=1)
        body["image"] = "disk.raw"
        instance_id = str(
            succeed(node.client, node.client.post("/api/v2/instances", json=body))["target_id"]
        )
        wait_marker(instance_id)
        with _console(node, instance_id, "serial") as socket:
            _read_until(socket, b"CLOUDENV-GUEST-READY")
            socket.send(b"\nhead -c 24 /dev/vda; echo; echo HEAD-$((3+4))\n")
            assert b"CLOUDENV-DISK-IMAGE-0042" in _read_until(socket, b"HEAD-7\r\n")
        node.power(instance_id, "kill")

    def test_the_cli_drives_virtual_machines(self, node: Node, tmp_path_factory: Any) -> None:
        """``cloudenv image upload`` and ``cloudenv instance ...`` against the served node."""
        import json

        from tests.guest.build import build_guest
        from tests.support.served_node import ADMIN_PASSWORD, hermetic_env, output_of, run_cli

        guest = build_guest()
        env = hermetic_env(tmp_path_factory.mktemp("cli-home"))
        url = f"https://127.0.0.1:{node.server.port}"
        login = run_cli(
            ["login", "--url", url, "--yes", "--password-stdin"], env, ADMIN_PASSWORD + "\n"
        )
        assert login.returncode == 0, output_of(login)
        upload = run_cli(
            ["image", "upload", str(guest.kernel), "--name", "cli-vmlinuz", "--format", "kernel"],
            env,
        )
        assert upload.returncode == 0 and "is available" in output_of(upload), output_of(upload)
        deploy = run_cli(
            [
                "instance",
                "deploy",
                "cli-vm",
                "--kernel",
                "cli-vmlinuz",
                "--initrd",
                "initrd.gz",
                "--cmdline",
                "console=ttyS0,115200",
                "--disk",
                "0",
                "--memory",
                "256",
            ],
            env,
        )
        assert deploy.returncode == 0, output_of(deploy)
        listed = json.loads(run_cli(["instance", "list", "--json"], env).stdout)
        mine = next(i for i in listed if i["name"] == "cli-vm")
        assert mine["state"] == "running"
        wait_marker(mine["id"])
        assert run_cli(["instance", "kill", mine["id"]], env).returncode == 0
        destroy = run_cli(["instance", "destroy", mine["id"], "--yes"], env)
        assert destroy.returncode == 0, output_of(destroy)
        assert node.client.get(f"/api/v1/instances/{mine['id']}").status_code == 404


@pytest.fixture
def crashable_node() -> Iterator[Node]:
    """A node of the test's own: the test kills its daemon."""
    with _served_node() as served:
        yield served


def test_a_crash_during_deploys_leaves_a_consistent_state(crashable_node: Node) -> None:
    """SIGKILL the daemon right after deploys were accepted; after a restart every instance
    is either fully there (running, its volume file present) or completely gone."""
    node = crashable_node
    server = node.server
    for index in range(3):
        response = node.client.post(
            "/api/v2/instances", json=deploy_body(node.id, node.pool, f"crash-{index}", volume_gb=1)
        )
        assert response.status_code == 202
    time.sleep(0.3)
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(10)
    with serving(server.node) as restarted, restarted.admin() as client:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            tasks = client.get(f"/api/v1/nodes/{node.id}/tasks").json()
            if all(t["status"] in ("succeeded", "failed") for t in tasks):
                break
            time.sleep(0.2)
        instances = [
            i
            for i in client.get("/api/v1/instances", params={"node_id": node.id}).json()
            if i["name"].startswith("crash-")
        ]
        volumes = client.get("/api/v1/volumes", params={"node_id": node.id}).json()
        files = {p.name for p in node.pool_dir.iterdir() if p.name.startswith("vol-")}
        assert {f"{v['id']}.qcow2" for v in volumes} == files  # no orphan file, no lost file
        for item in instances:
            assert item["state"] == "running", item
            assert item["current_task_id"] is None
            assert _domain_state(item["id"]) == libvirt.VIR_DOMAIN_RUNNING
        for item in instances:
            response = client.post(f"/api/v1/instances/{item['id']}/power", json={"action": "kill"})
            assert wait_task(client, response.json()["task_id"])["status"] == "succeeded"
