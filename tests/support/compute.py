"""Driving a served node's compute API as a client would: upload the test guest's images,
deploy, follow tasks, wait for the guest's marker. Shared by the integration tests and
bench/deploy.py."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.guest.build import MARKER, GuestArtifacts, build_guest
from tests.support.served_node import NodeDir, init_node

#: Where nodes with real VMs live: QEMU runs as libvirt-qemu and must reach their pools,
#: so not under pytest's private (0700) temporary directories.
REAL_NODES_ROOT = Path("/var/lib/cloudenv-test/nodes")
SERIAL_LOG_DIR = Path("/var/log/libvirt/qemu")
CMDLINE = "console=ttyS0,115200 panic=-1"


class ComputeTestError(AssertionError):
    """A step of a compute scenario did not do what it should."""


@dataclass(frozen=True)
class GuestImages:
    """The test guest's images on a served node (``vmlinuz``, ``initrd.gz``, ``guest.iso``,
    as :func:`upload_guest` names them), in ``pool_id`` of ``node_id``."""

    node_id: str
    pool_id: str


@contextmanager
def real_node_dir() -> Iterator[NodeDir]:
    """An initialized node whose data dir QEMU can reach; removed afterwards."""
    REAL_NODES_ROOT.mkdir(parents=True, exist_ok=True)
    for parent in (REAL_NODES_ROOT.parent, REAL_NODES_ROOT):
        parent.chmod(0o755)
    base = REAL_NODES_ROOT / f"node-{secrets.token_hex(4)}"
    base.mkdir(mode=0o755)
    try:
        yield init_node(base)
    finally:
        _forget_libvirt_pools(base)
        shutil.rmtree(base, ignore_errors=True)


def remove_domains(pool_dir: Path) -> None:
    """Destroy and undefine every libvirt domain whose disks, boot files or (a container)
    root filesystem live in ``pool_dir`` (a node's pool): what a test deployed and didn't
    destroy itself."""
    import libvirt

    for uri, flags in (
        ("qemu:///system", libvirt.VIR_DOMAIN_UNDEFINE_NVRAM),
        ("lxc:///system", 0),  # the LXC driver takes no undefine flags
    ):
        try:
            conn = libvirt.open(uri)
        except libvirt.libvirtError:
            continue  # no LXC driver here: no containers to remove either
        try:
            for domain in conn.listAllDomains():
                # Another test (maybe on another xdist worker) may remove a domain meanwhile.
                with contextlib.suppress(libvirt.libvirtError):
                    if str(pool_dir) in domain.XMLDesc(0):
                        if domain.isActive():
                            domain.destroy()
                        domain.undefineFlags(flags)
        finally:
            conn.close()


def _forget_libvirt_pools(base: Path) -> None:
    """The node's agent defined its pools in libvirt (autostart); drop those under ``base``."""
    import libvirt

    conn = libvirt.open("qemu:///system")
    try:
        for pool in conn.listAllStoragePools():
            try:
                xml = pool.XMLDesc(0)
            except libvirt.libvirtError:
                continue  # gone meanwhile: another test (maybe on another worker) removed it
            if str(base) in xml:
                if pool.isActive():
                    pool.destroy()
                pool.undefine()
    finally:
        conn.close()


def wait_task(client: httpx.Client, task_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task: dict[str, Any] = client.get(f"/api/v1/tasks/{task_id}").json()
        if task["status"] in ("succeeded", "failed", "cancelled"):
            return task
        time.sleep(0.1)
    raise ComputeTestError(f"task {task_id} did not finish within {timeout} s")


def succeed(
    client: httpx.Client, response: httpx.Response, timeout: float = 120.0
) -> dict[str, Any]:
    """The task a 202 reply started, which must succeed."""
    if response.status_code != 202:
        raise ComputeTestError(f"expected 202, got {response.status_code}: {response.text}")
    task = wait_task(client, response.json()["task_id"], timeout)
    if task["status"] != "succeeded":
        raise ComputeTestError(f"task failed: {task['message']}\n{task['log']}")
    return task


def upload_guest(
    client: httpx.Client, node_id: str, pool_id: str, guest: GuestArtifacts | None = None
) -> GuestArtifacts:
    """The test guest's kernel, initrd and ISO as images of the node; those another test
    already put there are left as they are (the e2e tests share one node per worker)."""
    guest = guest or build_guest()
    listed = client.get(f"/api/v1/nodes/{node_id}/images/images")
    present = {i["name"] for i in listed.json()} if listed.status_code == 200 else set()
    for path, name, fmt in (
        (guest.kernel, "vmlinuz", "kernel"),
        (guest.initrd, "initrd.gz", "initrd"),
        (guest.iso, "guest.iso", "iso"),
    ):
        if name in present:
            continue
        response = client.post(
            f"/api/v1/nodes/{node_id}/images/images",
            params={"storage_pool_id": pool_id, "name": name, "format": fmt},
            content=path.read_bytes(),
        )
        succeed(client, response)
    return guest


def deploy_body(
    node_id: str,
    pool_id: str,
    name: str,
    *,
    boot: str = "kernel",
    volume_gb: int = 1,
    memory: int = 256,
    **metadata: Any,
) -> dict[str, Any]:
    """A deploy of the test guest: ``boot`` is "kernel" (direct kernel boot) or "iso"."""
    meta: dict[str, Any] = {
        "_type": "qemu",
        "machine_type": "pc",
        "firmware": "bios",
        "new_volumes": [
            {
                "storage_pool_id": pool_id,
                "size": volume_gb,
                "dev": "/dev/vda",
                "bus": "virtio",
                "driver": "qcow2",
            }
        ]
        if volume_gb
        else [],
    }
    body: dict[str, Any] = {
        "destination": {"node_id": node_id},
        "name": name,
        "type": 2,
        "cpu": {"sockets": 1, "cores": 1, "threads": 1},
        "memory": memory,
        "networks": [],
        "autostart": False,
        "metadata": meta,
    }
    if boot == "kernel":
        meta["kernel_boot"] = {"kernel": "vmlinuz", "initrd": "initrd.gz", "cmdline": CMDLINE}
    else:
        body["image"] = "guest.iso"
    meta.update(metadata)
    return body


def serial_log(instance_id: str) -> Path:
    return SERIAL_LOG_DIR / f"{instance_id}-serial.log"


def wait_marker(instance_id: str, timeout: float = 120.0, *, after: int = 0) -> float:
    """Seconds until the guest's marker appears in its serial log past byte ``after``.

    The bound is generous: a TCG guest boots in ~10 s alone, but with four test workers on
    two cores one was seen still in its kernel's start after 60 s."""
    path, start = serial_log(instance_id), time.monotonic()
    while time.monotonic() - start < timeout:
        if path.exists() and MARKER.encode() in path.read_bytes()[after:]:
            return time.monotonic() - start
        time.sleep(0.05)
    tail = path.read_bytes()[-400:] if path.exists() else b"(no log)"
    raise ComputeTestError(f"no {MARKER} from {instance_id} within {timeout} s: {tail!r}")


def serial_line(instance_id: str, prefix: str, timeout: float = 30.0) -> str:
    """The first line of the guest's serial log that starts with ``prefix``, waiting for it:
    the guest prints some lines after its marker (``CLOUDENV-DISKS:`` comes next), and a
    guest under TCG on a busy host may take seconds to get there."""
    path, start = serial_log(instance_id), time.monotonic()
    while time.monotonic() - start < timeout:
        text = path.read_bytes().decode(errors="replace") if path.exists() else ""
        found = next((line for line in text.splitlines() if line.startswith(prefix)), None)
        if found is not None:
            return found
        time.sleep(0.05)
    raise ComputeTestError(f"no line starting {prefix!r} from {instance_id} within {timeout} s")


def instance(client: httpx.Client, instance_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/instances/{instance_id}")
    if response.status_code != 200:
        raise ComputeTestError(f"instance {instance_id}: {response.status_code} {response.text}")
    detail: dict[str, Any] = response.json()["instance"]
    return detail
