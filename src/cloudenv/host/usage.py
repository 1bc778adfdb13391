"""The host's usage counters, read with psutil for the agent's sampler
(``agent/metrics.py`` turns two readings into rates and percentages).

What is counted, and why:
- CPU: busy and total seconds of all CPUs since boot (busy is total less idle and
  I/O wait; guest time is already inside user time, so it is left out of the total).
- Memory: used is total less available, what the kernel could hand out without swapping
  (``free``'s "used" leaves out caches the kernel drops at once, and so does this).
- Network: the physical NICs (those with a ``device`` in sysfs), so a guest's traffic is
  not counted again on its tap, its bridge and the uplink; all but loopback when the host
  has none (a container).
- Storage: each local file system once (the first mount point of each device).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import psutil


@dataclass(frozen=True, kw_only=True)
class HostCounters:
    cpu_busy: float  # seconds, all CPUs, since boot
    cpu_total: float
    cpus: int
    load: tuple[float, float, float]
    memory_used: int
    memory_total: int
    swap_used: int
    swap_total: int
    net_rx_bytes: int
    net_tx_bytes: int
    disk_read_bytes: int
    disk_write_bytes: int
    boot_time: float  # Unix seconds
    mounts: dict[str, tuple[int, int]] = field(default_factory=dict)  # mount -> (used, total)


def read_host() -> HostCounters:
    times = psutil.cpu_times()
    guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    total = sum(times) - guest
    idle = times.idle + getattr(times, "iowait", 0.0)
    memory, swap = psutil.virtual_memory(), psutil.swap_memory()
    rx, tx = _network()
    disks = psutil.disk_io_counters()
    return HostCounters(
        cpu_busy=max(0.0, total - idle),
        cpu_total=total,
        cpus=psutil.cpu_count() or 1,
        load=os.getloadavg(),
        memory_used=memory.total - memory.available,
        memory_total=memory.total,
        swap_used=swap.used,
        swap_total=swap.total,
        net_rx_bytes=rx,
        net_tx_bytes=tx,
        disk_read_bytes=disks.read_bytes if disks else 0,
        disk_write_bytes=disks.write_bytes if disks else 0,
        boot_time=psutil.boot_time(),
        mounts=_mounts(),
    )


def _network() -> tuple[int, int]:
    counters = psutil.net_io_counters(pernic=True)
    physical = [n for n in counters if os.path.exists(f"/sys/class/net/{n}/device")]
    names = physical or [n for n in counters if n != "lo"]
    return (
        sum(counters[n].bytes_recv for n in names),
        sum(counters[n].bytes_sent for n in names),
    )


def _mounts() -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    seen: set[str] = set()
    for partition in sorted(psutil.disk_partitions(all=False), key=lambda p: len(p.mountpoint)):
        if partition.device in seen:
            continue
        try:
            usage = psutil.disk_usage(partition.mountpoint)
        except OSError:  # gone, or not ours to read
            continue
        seen.add(partition.device)
        found[partition.mountpoint] = (usage.used, usage.total)
    return found
