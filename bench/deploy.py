"""Deploy latency: ``POST /v2/instances`` → the guest's marker on its serial console,
next to the same guest started directly through libvirt-python, and the time for many
deploys at once.

Runs a real node (``cloudenv init`` + ``serve``) under /var/lib/cloudenv-test, uploads
the tiny test guest (tests/guest), and prints min / median of each figure. Loopback only,
bounded in count and time; everything it creates is removed at the end.

    .venv/bin/python bench/deploy.py [--runs 3] [--concurrent 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import libvirt
from tests.guest.build import build_guest
from tests.support.compute import (
    CMDLINE,
    SERIAL_LOG_DIR,
    deploy_body,
    real_node_dir,
    succeed,
    upload_guest,
    wait_marker,
)
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


def _stats(values: list[float]) -> str:
    return (
        f"min {min(values):6.2f} s  median {statistics.median(values):6.2f} s  "
        f"(runs: {', '.join(f'{v:.2f}' for v in values)})"
    )


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="sequential runs per figure (3)")
    parser.add_argument("--concurrent", type=int, default=20, help="deploys at once (20)")
    args = parser.parse_args(argv)
    ensure_libvirtd()
    print("cloudenv deploy benchmark")
    print(
        f"  machine: os.cpu_count()={os.cpu_count()}, guests under TCG (no usable KVM here),"
        f" {MEMORY_MB} MB, direct kernel boot of the tests/guest image"
    )

    direct = direct_libvirt(args.runs)
    print(f"libvirt-python define+create → marker      {_stats(direct)}")

    with real_node_dir() as node_dir, serving(node_dir) as server, server.admin() as client:
        node_id = server.health["id"]
        pool = client.get(f"/api/v1/nodes/{node_id}/storage/pools").json()[0]["id"]
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

        try:
            via_api = [deploy(f"bench-{i}", 0) for i in range(args.runs)]
            print(f"POST /v2/instances → marker                {_stats(via_api)}")
            ratio = statistics.median(via_api) / statistics.median(direct)
            print(f"  ratio API / direct (medians): {ratio:.2f}")
            with_volume = [deploy(f"bench-vol-{i}", 1) for i in range(args.runs)]
            print(f"  same with a new 1 GB qcow2 volume        {_stats(with_volume)}")
            _cleanup(str(node_dir.path))  # free the CPU for the burst
            start = time.monotonic()
            with ThreadPoolExecutor(max_workers=args.concurrent) as workers:
                each = list(workers.map(lambda i: deploy(f"burst-{i}", 1), range(args.concurrent)))
            wall = time.monotonic() - start
            print(
                f"{args.concurrent} deploys at once (1 GB volume each) → all markers: "
                f"{wall:.1f} s wall; per deploy min {min(each):.1f} s, "
                f"median {statistics.median(each):.1f} s, max {max(each):.1f} s"
            )
        finally:
            _cleanup(str(node_dir.path))
    return 0


def _cleanup(node_path: str) -> None:
    conn = libvirt.open("qemu:///system")
    try:
        for domain in conn.listAllDomains():
            if node_path in domain.XMLDesc(0):
                if domain.isActive():
                    domain.destroy()
                domain.undefine()
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
