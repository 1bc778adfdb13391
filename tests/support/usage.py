"""A host whose usage the tests choose, for the metrics sampler (``probe=``): its counters
advance by fixed amounts per reading, so the rates a pass computes are known."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from cloudenv.host.usage import HostCounters

GIB = 1024**3


@dataclass
class FakeHost:
    """Each reading: the CPUs ``busy`` of the time since the last (4 CPUs, 40 CPU-seconds
    between two readings, as 10 s apart), ``rx_step`` bytes more received."""

    busy: float = 0.25
    rx_step: int = 10_000
    counters: HostCounters = field(default_factory=lambda: START)

    def __call__(self) -> HostCounters:
        now = self.counters
        self.counters = replace(
            now,
            cpu_busy=now.cpu_busy + 40 * self.busy,
            cpu_total=now.cpu_total + 40,
            net_rx_bytes=now.net_rx_bytes + self.rx_step,
        )
        return now


#: The first reading.
START = HostCounters(
    cpu_busy=1000.0,
    cpu_total=4000.0,
    cpus=4,
    load=(1.5, 1.0, 0.5),
    memory_used=6 * GIB,
    memory_total=16 * GIB,
    swap_used=0,
    swap_total=2 * GIB,
    net_rx_bytes=10**9,
    net_tx_bytes=10**8,
    disk_read_bytes=10**9,
    disk_write_bytes=10**9,
    boot_time=1_700_000_000.0,
    mounts={"/": (40 * GIB, 100 * GIB), "/srv": (10 * GIB, 100 * GIB)},
)
