"""Deploy latency: ``POST /v2/instances`` → the guest's marker on its serial console,
next to the same guest started directly through libvirt-python, and the time for many
deploys at once; and a busybox container's deploy → Running through the API next to LXD's
``lxc launch`` of the same rootfs on this machine (bench/lxd.py), with the ratio.

Runs a real node (``cloudenv init`` + ``serve``) under /var/lib/cloudenv-test, uploads
the tiny test guest (tests/guest) and the busybox rootfs (tests/support/container_images),
and prints min / median / max of each figure. The container runs alternate between
cloudenv and LXD, so both see the same load on a shared machine. Loopback only, bounded
in count and time; everything it creates is removed at the end, and an LXD it started is
shut down. When LXD can't run, it says why and still prints cloudenv's figure.

    .venv/bin/python bench/deploy.py [--runs 3] [--concurrent 20] [--container-runs 5]
        [--only vms|containers]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import libvirt
from bench.lxd import LxdPeer, LxdUnavailable, lxd_peer
from tests.guest.build import build_guest
from tests.support.compute import (
    CMDLINE,
    SERIAL_LOG_DIR,
    ComputeTestError,
    deploy_body,
    instance,
    real_node_dir,
    remove_domains,
    succeed,
    upload_guest,
    wait_marker,
)
from tests.support.container_images import build_busybox_rootfs, rootfs_tarball
from tests.support.libvirt import ensure_libvirtd
from tests.support.served_node import serving

from cloudenv.drivers.compute.base import (
    Accelerator,
    DirectKernelBoot,
    DomainSpec,
    Firmware,
    QemuConfig,
)
from cloudenv.drivers.compute.designer import domain_xml

MEMORY_MB = 256
CONTAINER_IMAGE = "bench-busybox.tar.gz"
RUNNING_TIMEOUT = 120.0  # seconds for a deployed container to be running
POLL = 0.01  # seconds between state reads, as on LXD's side
LABEL = 50  # width of a figure's label
PARTS = ("vms", "containers")


def _stats(values: list[float]) -> str:
    return (
        f"min {min(values):5.2f} s  median {statistics.median(values):5.2f} s  "
        f"max {max(values):5.2f} s  (runs: {', '.join(f'{v:.2f}' for v in values)})"
    )


def _figure(label: str, values: list[float]) -> None:
    print(f"{label:<{LABEL}} {_stats(values)}")


def _ratio(label: str, ours: list[float], theirs: list[float], goal: str = "") -> None:
    if ours and theirs:
        ratio = statistics.median(ours) / statistics.median(theirs)
        print(f"  ratio {label} (medians): {ratio:.2f}{goal}")


# Virtual machines ------------------------------------------------------------------------


def direct_libvirt(runs: int) -> list[float]:
    """The guest defined and started by libvirt-python alone: the floor for any platform."""
    guest = build_guest()
    conn = libvirt.open("qemu:///system")
    times = []
    try:
        for _ in range(runs):
            name = f"cebench-{uuid.uuid4().hex[:8]}"
            log = SERIAL_LOG_DIR / f"{name}-serial.log"
            spec = DomainSpec(
                name=name,
                uuid=str(uuid.uuid4()),
                title=name,
                vcpus_sockets=1,
                vcpus_cores=1,
                vcpus_threads=1,
                memory_mb=MEMORY_MB,
                accelerator=Accelerator.TCG,
                config=QemuConfig(firmware=Firmware.BIOS),
                kernel_boot=DirectKernelBoot(str(guest.kernel), str(guest.initrd), CMDLINE),
                serial_log=str(log),
            )
            start = time.monotonic()
            domain = conn.defineXML(domain_xml(spec))
            domain.create()
            try:
                while guest.marker.encode() not in (log.read_bytes() if log.exists() else b""):
                    if time.monotonic() - start > 60:
                        raise SystemExit("direct libvirt boot: no marker within 60 s")
                    time.sleep(0.02)
                times.append(time.monotonic() - start)
            finally:
                domain.destroy()
                domain.undefine()
                log.unlink(missing_ok=True)
    finally:
        conn.close()
    return times


def vm_figures(
    client: httpx.Client, node_id: str, pool: str, direct: list[float], args: argparse.Namespace
) -> None:
    """The guest through the API next to ``direct`` (:func:`direct_libvirt`'s figures),
    then with a new volume, then ``--concurrent`` deploys at once."""
    upload_guest(client, node_id, pool)

    def deploy(name: str, volume_gb: int) -> float:
        start = time.monotonic()
        response = client.post(
            "/api/v2/instances",
            json=deploy_body(node_id, pool, name, volume_gb=volume_gb, memory=MEMORY_MB),
        )
        instance_id = response.json()["task_id"] and succeed(client, response)["target_id"]
        wait_marker(instance_id, timeout=600)
        return time.monotonic() - start

    via_api = [deploy(f"bench-{i}", 0) for i in range(args.runs)]
    _figure("POST /v2/instances → marker", via_api)
    _ratio("API / direct", via_api, direct)
    with_volume = [deploy(f"bench-vol-{i}", 1) for i in range(args.runs)]
    _figure("  same with a new 1 GB qcow2 volume", with_volume)
    remove_domains(args.node_path)  # free the CPU for the burst
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.concurrent) as workers:
        each = list(workers.map(lambda i: deploy(f"burst-{i}", 1), range(args.concurrent)))
    wall = time.monotonic() - start
    print(
        f"{args.concurrent} deploys at once (1 GB volume each) → all markers: "
        f"{wall:.1f} s wall; per deploy min {min(each):.1f} s, "
        f"median {statistics.median(each):.1f} s, max {max(each):.1f} s"
    )


# Containers ------------------------------------------------------------------------------


def container_body(node_id: str, name: str) -> dict[str, Any]:
    """A deploy of the busybox container (API-COMPAT.md's deploy body, type 1): the
    imported rootfs, 1 vCPU, MEMORY_MB, no NIC (LXD's side has none either)."""
    return {
        "destination": {"node_id": node_id},
        "name": name,
        "type": 1,
        "image": CONTAINER_IMAGE,
        "cpu": {"sockets": 1, "cores": 1, "threads": 1},
        "memory": MEMORY_MB,
        "networks": [],
        "autostart": False,
        "metadata": {"_type": "lxc"},
    }


def deploy_container(client: httpx.Client, node_id: str, name: str) -> tuple[float, str]:
    """Seconds from ``POST /v2/instances`` to the API showing the instance ``running``,
    and its id; the deploy task must then have succeeded."""
    start = time.monotonic()
    response = client.post("/api/v2/instances", json=container_body(node_id, name))
    if response.status_code != 202:
        raise ComputeTestError(f"deploy answered {response.status_code}: {response.text}")
    task_id = response.json()["task_id"]
    instance_id = str(client.get(f"/api/v1/tasks/{task_id}").json()["target_id"])
    while (state := instance(client, instance_id))["state"] != "running":
        if state["state"] == "error" or time.monotonic() - start > RUNNING_TIMEOUT:
            raise ComputeTestError(f"container {name} is {state['state']}: {state}")
        time.sleep(POLL)
    seconds = time.monotonic() - start
    succeed(client, response)
    return seconds, instance_id


def destroy_container(client: httpx.Client, instance_id: str) -> None:
    """Kill and destroy with its volumes, so each run starts from the same node."""
    if instance(client, instance_id)["state"] != "stopped":
        power = client.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"})
        succeed(client, power)
    params = {"confirm": "DESTROY", "destroy_volumes": "true"}
    succeed(client, client.delete(f"/api/v1/instances/{instance_id}", params=params))


@dataclass
class ContainerRuns:
    """Each side's seconds, and why a side stopped being measured ("" while it is): a side
    that can't run doesn't stop the other's figure."""

    cloudenv: list[float] = field(default_factory=list)
    lxc_launch: list[float] = field(default_factory=list)
    lxd_rest: list[float] = field(default_factory=list)
    cloudenv_missing: str = ""
    lxd_missing: str = ""


def container_figures(client: httpx.Client, node_id: str, pool: str, runs: int) -> None:
    """The busybox rootfs imported into the node and into LXD, then ``runs`` deploys on
    each side, alternating, each removed before the next; one table and the ratios."""
    found = ContainerRuns()
    with tempfile.TemporaryDirectory(prefix="cloudenv-bench-") as work:
        tarball = rootfs_tarball(
            build_busybox_rootfs(Path(work) / "busybox"), Path(work) / CONTAINER_IMAGE
        )
        upload = client.post(
            f"/api/v1/nodes/{node_id}/images/images",
            params={"storage_pool_id": pool, "name": CONTAINER_IMAGE},
            content=tarball.read_bytes(),
            timeout=60.0,
        )
        succeed(client, upload)
        with contextlib.ExitStack() as stack:
            lxd: LxdPeer | None = None
            try:
                lxd = stack.enter_context(lxd_peer(tarball, Path(work)))
            except LxdUnavailable as error:
                found.lxd_missing = str(error)
            for run in range(runs):
                if not found.cloudenv_missing:
                    _cloudenv_run(client, node_id, f"bench-ct-{run}", found)
                if lxd is not None and not found.lxd_missing:
                    _lxd_run(lxd, found)
    _container_table(found, runs)


def _cloudenv_run(client: httpx.Client, node_id: str, name: str, found: ContainerRuns) -> None:
    """One deploy through the API, destroyed after; a refusal or failure is noted."""
    try:
        seconds, instance_id = deploy_container(client, node_id, name)
        found.cloudenv.append(seconds)
        destroy_container(client, instance_id)
    except ComputeTestError as error:
        found.cloudenv_missing = str(error)


def _lxd_run(lxd: LxdPeer, found: ContainerRuns) -> None:
    """One ``lxc launch`` and one ``POST /1.0/instances``, each deleted after; a failure
    is noted."""
    for into, launch in ((found.lxc_launch, lxd.launch), (found.lxd_rest, lxd.create_started)):
        name = f"cebench-{uuid.uuid4().hex[:8]}"
        try:
            into.append(launch(name, memory_mb=MEMORY_MB, vcpus=1))
        except LxdUnavailable as error:
            found.lxd_missing = str(error)
            return
        finally:
            with contextlib.suppress(LxdUnavailable):
                lxd.delete(name)


def _container_table(found: ContainerRuns, runs: int) -> None:
    print(
        f"container deploy → Running: the same busybox rootfs tarball on both sides, 1 vCPU, "
        f"{MEMORY_MB} MB, no NIC; {runs} runs each, cloudenv and LXD alternating"
    )
    for label, values in (
        ("  cloudenv POST /v2/instances → running", found.cloudenv),
        ("  LXD lxc launch → Running", found.lxc_launch),
        ("  LXD REST POST /1.0/instances + start → Running", found.lxd_rest),
    ):
        if values:
            _figure(label, values)
    _ratio("cloudenv / lxc launch", found.cloudenv, found.lxc_launch, " (goal: ≤ 1.00)")
    _ratio("cloudenv / LXD REST", found.cloudenv, found.lxd_rest)
    for side, why in (("cloudenv", found.cloudenv_missing), ("LXD", found.lxd_missing)):
        if why:
            print(f"  {side} not measured (or not every run): {why}")


# The run ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="sequential VM runs per figure (3)")
    parser.add_argument("--concurrent", type=int, default=20, help="VM deploys at once (20)")
    parser.add_argument(
        "--container-runs", type=int, default=5, help="container runs on each side (5)"
    )
    parser.add_argument("--only", choices=PARTS, help="only the VM or only the container figures")
    args = parser.parse_args(argv)
    parts = [args.only] if args.only else list(PARTS)
    ensure_libvirtd()
    print("cloudenv deploy benchmark")
    vms = (
        f", guests under TCG (no usable KVM here), {MEMORY_MB} MB, direct kernel boot of the "
        "tests/guest image"
    )
    print(f"  machine: os.cpu_count()={os.cpu_count()}{vms if 'vms' in parts else ''}")
    if "vms" in parts:  # before the node runs, on a machine as quiet as it gets
        direct = direct_libvirt(args.runs)
        _figure("libvirt-python define+create → marker", direct)
    with real_node_dir() as node_dir, serving(node_dir) as server, server.admin() as client:
        node_id = server.health["id"]
        pool = client.get(f"/api/v1/nodes/{node_id}/storage/pools").json()[0]["id"]
        args.node_path = node_dir.path
        try:
            # Containers first: the VM burst leaves the node busy with twenty instances.
            if "containers" in parts:
                container_figures(client, node_id, pool, args.container_runs)
            if "vms" in parts:
                vm_figures(client, node_id, pool, direct, args)
        finally:
            remove_domains(args.node_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
