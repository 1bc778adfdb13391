"""The usage sampler: every ``SAMPLE_SECONDS`` the agent's ``metrics.sample`` job reads the node
(psutil: ``host/usage.py``) and all its running instances with ONE bulk stats call to the
hypervisor, and records the pass (``services/monitoring/store.py``: one history row and
the node's newest reading, whatever the number of instances; roll-ups and retention
follow).

CPU use and traffic are rates, so they need two readings: an instance's ``cpu`` is the
CPU time its guest spent between this pass and the previous one over the wall time
between them, over its vCPUs (100 = every vCPU busy); network and disk rates are bytes
since the previous pass per second. The first pass of an instance (or the first after
it restarted and its counters went back to 0) reads 0. The node's first pass reads its
CPU use since boot. Readings are kept in this object, not the database: a sampler that
starts afresh simply needs one pass to warm up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from cloudenv import clock
from cloudenv.agent.drivers import Drivers
from cloudenv.drivers.compute.base import DomainStats
from cloudenv.errors import CloudenvError
from cloudenv.host.usage import HostCounters, read_host
from cloudenv.services.monitoring import layout
from cloudenv.services.monitoring.store import (
    InstanceReading,
    NodeReading,
    Reading,
    Usage,
    record,
    sampling_targets,
)
from cloudenv.store.engine import transaction

log = logging.getLogger(__name__)

SAMPLE_SECONDS = float(layout.SAMPLE_SECONDS)


class MetricsSampler:
    def __init__(
        self,
        node_id: str,
        session_factory: sessionmaker[Session],
        drivers: Drivers,
        *,
        probe: Callable[[], HostCounters] = read_host,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.node_id = node_id
        self.factory = session_factory
        self.drivers = drivers
        self._probe = probe
        self._monotonic = monotonic
        self._now = now
        self._host: tuple[HostCounters, float] | None = None
        #: instance -> (CPU ns, rx, tx, read, written bytes, when) at the previous pass
        #: Per instance: CPU ns, rx, tx, read, write bytes, when, memory used (bytes).
        self._last: dict[str, tuple[int, int, int, int, int, float, int]] = {}
        #: Rows the last pass wrote (the benchmark's count).
        self.rows_written = 0

    def sample(self) -> Reading:
        """Read the node and its running instances once and record them; returns what
        was recorded."""
        at = self._now()
        host = self._probe()
        stats = self._bulk_stats()
        moment = self._monotonic()
        with transaction(self.factory) as db:
            running, pools = sampling_targets(db, self.node_id)
            instances = {}
            for instance_id in running:
                found = stats.get(instance_id)
                if found is not None:
                    instances[instance_id] = self._instance(instance_id, found, moment)
            for gone in set(self._last) - set(instances):
                del self._last[gone]
            reading = Reading(self._node(host, moment, at, pools), instances)
            self.rows_written = record(db, self.node_id, reading, at)
        return reading

    def _bulk_stats(self) -> dict[str, DomainStats]:
        found: dict[str, DomainStats] = {}
        for compute in self.drivers.hypervisors():  # the VMs', then the containers'
            try:
                found.update(compute.bulk_stats())
            except CloudenvError as exc:  # the hypervisor is away: the node is still sampled
                log.warning("reading the instances' stats failed: %s", exc.message)
        return found

    def _node(
        self, host: HostCounters, moment: float, at: datetime, pools: dict[str, Usage]
    ) -> NodeReading:
        before, self._host = self._host, (host, moment)
        if before is None:  # since boot, the only span there is
            cpu = _percent(host.cpu_busy, host.cpu_total)
            rx = tx = read = write = 0.0
        else:
            old, wall = before[0], moment - before[1]
            cpu = _percent(host.cpu_busy - old.cpu_busy, host.cpu_total - old.cpu_total)
            rx = _rate(host.net_rx_bytes - old.net_rx_bytes, wall)
            tx = _rate(host.net_tx_bytes - old.net_tx_bytes, wall)
            read = _rate(host.disk_read_bytes - old.disk_read_bytes, wall)
            write = _rate(host.disk_write_bytes - old.disk_write_bytes, wall)
        return NodeReading(
            cpu=cpu,
            load1=host.load[0],
            load5=host.load[1],
            load15=host.load[2],
            memory_used=float(host.memory_used),
            memory_total=float(host.memory_total),
            swap_used=float(host.swap_used),
            swap_total=float(host.swap_total),
            storage_used=float(sum(used for used, _ in host.mounts.values())),
            storage_total=float(sum(total for _, total in host.mounts.values())),
            net_rx=rx,
            net_tx=tx,
            disk_read=read,
            disk_write=write,
            cpus=host.cpus,
            uptime=max(0, int(at.timestamp() - host.boot_time)),
            net_rx_bytes=host.net_rx_bytes,
            net_tx_bytes=host.net_tx_bytes,
            disk_read_bytes=host.disk_read_bytes,
            disk_write_bytes=host.disk_write_bytes,
            mounts={m: Usage(used=float(u), total=float(t)) for m, (u, t) in host.mounts.items()},
            pools=pools,
        )

    def _instance(self, instance_id: str, stats: DomainStats, moment: float) -> InstanceReading:
        links = stats.interfaces
        rx = sum(r for r, _ in links.values()) if links else 0
        tx = sum(t for _, t in links.values()) if links else 0
        read, write = stats.disk_read_bytes, stats.disk_write_bytes
        before = self._last.get(instance_id)
        # The guest's memory in use needs QEMU's monitor, which the bulk call skips rather
        # than wait for (a busy guest): such a pass keeps the last reading, not 0 (CI saw
        # every other pass read 0 under load).
        used = stats.memory_used_kib * 1024 if stats.memory_used_kib is not None else None
        if used is None:
            used = before[6] if before is not None else 0
        # A plain tuple of numbers: the collector stops tracking it, so a thousand kept
        # from pass to pass never make the interpreter's full collection run (100+ ms).
        self._last[instance_id] = (stats.cpu_time_ns, rx, tx, read, write, moment, used)
        cpu = rx_rate = tx_rate = read_rate = write_rate = 0.0
        if before is not None and stats.cpu_time_ns >= before[0] and moment > before[5]:
            wall = moment - before[5]
            spent = (stats.cpu_time_ns - before[0]) / 1e9
            cpu = min(100.0, 100.0 * spent / wall / (stats.vcpus or 1))
            rx_rate = _rate(rx - before[1], wall)
            tx_rate = _rate(tx - before[2], wall)
            read_rate = _rate(read - before[3], wall)
            write_rate = _rate(write - before[4], wall)
        return InstanceReading(
            cpu,
            float(used),
            float(stats.memory_kib * 1024),
            rx_rate,
            tx_rate,
            read_rate,
            write_rate,
            stats.vcpus,
            stats.cpu_time_ns / 1e9,
            rx,
            tx,
            read,
            write,
            links,
        )


def _percent(part: float, whole: float) -> float:
    return max(0.0, min(100.0, 100.0 * part / whole)) if whole > 0 else 0.0


def _rate(delta: float, seconds: float) -> float:
    """Per second; a counter that went back (a reset) reads 0."""
    return delta / seconds if delta > 0 and seconds > 0 else 0.0
