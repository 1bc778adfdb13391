"""The production compute driver: QEMU virtual machines through libvirt.

Domain XML is built by ``designer`` from element objects, never from strings. Verbs are
idempotent. What it shares with the container driver (connection, power verbs, NICs,
lifecycle events, consoles on their own connection) is ``libvirt_domains``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import xml.etree.ElementTree as ET

import libvirt

from cloudenv.drivers.compute.base import (
    Accelerator,
    ArchCapabilities,
    DiskSpec,
    DomainSpec,
    DomainStats,
    MachineType,
    SnapshotInfo,
    VncEndpoint,
)
from cloudenv.drivers.compute.designer import (
    disk_element,
    domain_xml,
    snapshot_element,
)
from cloudenv.drivers.compute.libvirt_domains import DETACH_TIMEOUT_SECONDS, LibvirtDomains
from cloudenv.drivers.compute.libvirt_xml import Domain
from cloudenv.drivers.errors import (
    DriverError,
    InvalidInput,
    NotFound,
)
from cloudenv.drivers.libvirt_errors import error_code, libvirt_failure

log = logging.getLogger(__name__)

URI = "qemu:///system"


#: The groups of libvirt's bulk stats a sampling pass reads (virConnectGetAllDomainStats).
_BULK_GROUPS = (
    libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
    | libvirt.VIR_DOMAIN_STATS_BALLOON
    | libvirt.VIR_DOMAIN_STATS_VCPU
    | libvirt.VIR_DOMAIN_STATS_INTERFACE
    | libvirt.VIR_DOMAIN_STATS_BLOCK
)


def _bulk_record(fields: dict[str, int | float | str]) -> DomainStats:
    """One domain's typed parameters from the bulk call: ``cpu.time`` (ns),
    ``balloon.*`` (KiB), ``vcpu.current``, ``net.<n>.{name,rx.bytes,tx.bytes}``,
    ``block.<n>.{rd,wr}.bytes`` (top images only: no backing chain was asked for)."""
    used: int | None = None
    if "balloon.available" in fields and "balloon.unused" in fields:
        used = int(fields["balloon.available"]) - int(fields["balloon.unused"])
    elif "balloon.rss" in fields:
        used = int(fields["balloon.rss"])
    interfaces = {}
    for i in range(int(fields.get("net.count", 0))):
        name = fields.get(f"net.{i}.name")
        if name is not None:
            rx = int(fields.get(f"net.{i}.rx.bytes", 0))
            interfaces[str(name)] = (rx, int(fields.get(f"net.{i}.tx.bytes", 0)))
    blocks = range(int(fields.get("block.count", 0)))
    return DomainStats(
        cpu_time_ns=int(fields.get("cpu.time", 0)),
        vcpus=int(fields.get("vcpu.current", 1)),
        memory_kib=int(fields.get("balloon.current", fields.get("balloon.maximum", 0))),
        memory_used_kib=used,
        interfaces=interfaces,
        disk_read_bytes=sum(int(fields.get(f"block.{i}.rd.bytes", 0)) for i in blocks),
        disk_write_bytes=sum(int(fields.get(f"block.{i}.wr.bytes", 0)) for i in blocks),
    )


class LibvirtComputeDriver(LibvirtDomains):
    """Implements ComputeDriver for QEMU/KVM (or TCG) through libvirt."""

    UNDEFINE_FLAGS = (
        libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
        | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    )
    CONSOLE_FLAGS = libvirt.VIR_DOMAIN_CONSOLE_FORCE

    def __init__(
        self,
        uri: str = URI,
        *,
        accelerator: Accelerator = Accelerator.TCG,
        accelerator_reason: str = "",
        detach_timeout: float = DETACH_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(uri, detach_timeout=detach_timeout)
        self.accelerator = accelerator
        self.accelerator_reason = accelerator_reason
        self._capabilities: dict[str, ArchCapabilities] | None = None

    # ComputeDriver ------------------------------------------------------------------------

    def capabilities(self) -> dict[str, ArchCapabilities]:
        if self._capabilities is None:
            from cloudenv.drivers.compute.libvirt_caps import read_capabilities
            from cloudenv.host.accel import probe_kvm

            self._capabilities = read_capabilities(
                self._connection(), probe_kvm(), self.accelerator.value, self.accelerator_reason
            )
        return self._capabilities

    def define(self, spec: DomainSpec) -> None:
        xml = domain_xml(spec)  # refusals (InvalidInput) before libvirt is asked
        with libvirt_failure(f"Failed defining domain {spec.name}"):
            self._connection().defineXML(xml)

    def shutdown(self, name: str) -> None:
        domain = self._maybe(name)
        if domain is None:
            return
        with libvirt_failure(f"Failed shutting down domain {name}"):
            if domain.isActive():
                domain.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)

    def reboot(self, name: str) -> None:
        domain = self._domain(name)
        with libvirt_failure(f"Failed resetting domain {name}"):
            domain.reset(0)

    def stats(self, name: str) -> DomainStats:
        domain = self._domain(name)
        with libvirt_failure(f"Failed reading stats of {name}"):
            _state, max_kib, _mem, vcpus, cpu_ns = domain.info()
        used: int | None = None
        if domain.isActive():
            try:
                memory = domain.memoryStats()
                if "available" in memory and "unused" in memory:
                    used = int(memory["available"]) - int(memory["unused"])
                elif "rss" in memory:
                    used = int(memory["rss"])
            except libvirt.libvirtError:
                used = None
        return DomainStats(
            cpu_time_ns=int(cpu_ns),
            vcpus=int(vcpus),
            memory_kib=int(max_kib),
            memory_used_kib=used,
            interfaces={},
        )

    def bulk_stats(self) -> dict[str, DomainStats]:
        connection = self._connection()
        # NOWAIT: a guest busy with a job (a snapshot, a block copy) reports what it can
        # at once rather than holding the whole pass up.
        flags = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING | getattr(
            libvirt, "VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT", 0
        )
        with libvirt_failure("Failed reading the domains' stats"):
            records = connection.getAllDomainStats(_BULK_GROUPS, flags)
        return {domain.name(): _bulk_record(fields) for domain, fields in records}

    def attach_disk(self, name: str, disk: DiskSpec, *, live: bool) -> None:
        domain = self._domain(name)
        with libvirt_failure(f"Failed attaching disk {disk.target} to {name}"):
            defined = Domain.from_xml(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            machine = MachineType.of_domain(defined.os.type.machine or "pc")
            element = disk_element(disk, machine, owner=f"Instance {name}")
            flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
            if live and domain.isActive():
                flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
            domain.attachDeviceFlags(element.to_xml(), flags)

    def detach_disk(self, name: str, target: str, *, live: bool) -> None:
        domain = self._domain(name)
        with libvirt_failure(f"Failed detaching disk {target} from {name}"):
            defined = Domain.from_xml(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            disk = next((d for d in defined.devices.disks if d.target.dev == target), None)
            if disk is None:
                return
            if not (live and domain.isActive()):
                domain.detachDeviceFlags(disk.to_xml(), libvirt.VIR_DOMAIN_AFFECT_CONFIG)
                return
            running = Domain.from_xml(domain.XMLDesc(0))
        plugged = next((d for d in running.devices.disks if d.target.dev == target), None)
        if plugged is None:  # only the saved definition has it (attached with live=false)
            with libvirt_failure(f"Failed detaching disk {target} from {name}"):
                domain.detachDeviceFlags(disk.to_xml(), libvirt.VIR_DOMAIN_AFFECT_CONFIG)
            return
        alias = plugged.alias
        removed = threading.Event()
        key = (name, alias or "")
        with self._removals_lock:
            self._removals[key] = removed
        try:
            with libvirt_failure(f"Failed detaching disk {target} from {name}"):
                domain.detachDeviceFlags(
                    disk.to_xml(), libvirt.VIR_DOMAIN_AFFECT_CONFIG | libvirt.VIR_DOMAIN_AFFECT_LIVE
                )
            if alias is not None:  # QEMU names every plugged device; wait for its removal
                self._await_removal(domain, name, target, removed)
        finally:
            with self._removals_lock:
                self._removals.pop(key, None)

    def resize_disk(self, name: str, target: str, capacity_bytes: int) -> None:
        domain = self._domain(name)
        context = f"Failed resizing disk {target} of {name} live"
        with libvirt_failure(context):
            active = domain.isActive()
            running = Domain.from_xml(domain.XMLDesc(0)) if active else None
        if running is None:
            raise DriverError(f"{context}: the domain is not running.")
        if not any(d.target.dev == target for d in running.devices.disks):
            raise DriverError(f"{context}: the running guest has no disk {target}.")
        with libvirt_failure(context):
            current = int(domain.blockInfo(target)[0])  # (capacity, allocation, physical)
        if capacity_bytes < current:
            raise InvalidInput(
                f"Disk {target} of {name} is {current} bytes and can only grow; "
                f"{capacity_bytes} bytes would shrink it.",
                field="capacity_bytes",
            )
        if capacity_bytes == current:
            return
        with libvirt_failure(context):
            # QEMU's block_resize: grows the image (file, RBD) or takes the grown device's
            # size, and the guest is told at once (virtio-blk: a config change interrupt).
            domain.blockResize(target, capacity_bytes, libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)

    def snapshot_create(self, name: str, snapshot: str, description: str) -> None:
        domain = self._domain(name)
        with libvirt_failure(f"Failed snapshotting {name}"):
            domain.snapshotCreateXML(snapshot_element(snapshot, description).to_xml(), 0)

    def snapshot_list(self, name: str) -> list[SnapshotInfo]:
        domain = self._domain(name)
        current = None
        with contextlib.suppress(libvirt.libvirtError):
            current = domain.snapshotCurrent().getName() if domain.hasCurrentSnapshot() else None
        result = []
        with libvirt_failure(f"Failed listing snapshots of {name}"):
            for snap in domain.listAllSnapshots(0):
                root = ET.fromstring(snap.getXMLDesc())  # noqa: S314 - from libvirtd
                result.append(
                    SnapshotInfo(
                        name=snap.getName(),
                        description=root.findtext("description") or "",
                        created=int(root.findtext("creationTime") or 0),
                        state=root.findtext("state") or "",
                        current=snap.getName() == current,
                    )
                )
        return result

    def _snapshot(self, domain: libvirt.virDomain, snapshot: str) -> libvirt.virDomainSnapshot:
        with libvirt_failure(f"Failed finding snapshot {snapshot} of {domain.name()}"):
            try:
                return domain.snapshotLookupByName(snapshot, 0)
            except libvirt.libvirtError as exc:
                if error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
                    raise NotFound(
                        f"Instance {domain.name()} has no snapshot {snapshot}."
                    ) from None
                raise

    def snapshot_revert(self, name: str, snapshot: str) -> None:
        domain = self._domain(name)
        snap = self._snapshot(domain, snapshot)
        with libvirt_failure(f"Failed reverting {name} to {snapshot}"):
            domain.revertToSnapshot(snap, 0)

    def snapshot_delete(self, name: str, snapshot: str) -> None:
        domain = self._domain(name)
        try:
            snap = self._snapshot(domain, snapshot)
        except NotFound:
            return  # already gone
        with libvirt_failure(f"Failed deleting snapshot {snapshot} of {name}"):
            snap.delete(0)

    def vnc_endpoint(self, name: str) -> VncEndpoint | None:
        domain = self._domain(name)
        if not domain.isActive():
            return None
        live = Domain.from_xml(domain.XMLDesc(0))
        for graphics in live.devices.graphics:
            if graphics.type != "vnc":
                continue
            for listen in graphics.listens:
                if listen.type == "socket" and listen.socket:
                    return VncEndpoint(listen.socket)
        return None

    def serial_history(self, name: str, max_bytes: int) -> bytes:
        domain = self._domain(name)
        described = Domain.from_xml(domain.XMLDesc(0))
        logs = [s.log.file for s in described.devices.serials if s.log is not None]
        if not logs:
            return b""
        try:
            with open(logs[0], "rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - max_bytes))
                return handle.read()
        except OSError:
            return b""
