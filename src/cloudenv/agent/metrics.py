"""The usage sampler: every ``SAMPLE_SECONDS`` the agent's heartbeat thread reads
``stats()`` of each running instance of this node and stores the latest sample per
instance, so ``GET /v1/instances/{id}/metrics`` is a database read.

CPU use is a rate, so it needs two readings: ``cpu_percent`` is the guest's CPU time
spent between this pass and the previous one, over the wall time between them, over its
vCPUs (100 = every vCPU busy). The first pass of an instance (or the first after it
restarted and its CPU time went back to 0) stores 0. Readings are kept in this object,
not the database: a sampler that starts afresh simply needs one pass to warm up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from cloudenv import clock
from cloudenv.agent.drivers import Drivers
from cloudenv.errors import CloudenvError
from cloudenv.services.compute import metrics
from cloudenv.store.engine import transaction

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 5.0


class MetricsSampler:
    def __init__(
        self,
        node_id: str,
        session_factory: sessionmaker[Session],
        drivers: Drivers,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.node_id = node_id
        self.factory = session_factory
        self.drivers = drivers
        self._monotonic = monotonic
        self._last: dict[str, tuple[int, float]] = {}  # instance -> (cpu ns, monotonic s)

    def run(self) -> None:
        """One pass that never raises: a failed pass is logged and the next one retried."""
        try:
            self.sample()
        except Exception:
            log.exception("sampling instance metrics failed")

    def sample(self) -> list[metrics.Sample]:
        """Read every running instance once and store the samples; returns them."""
        compute = self.drivers.compute
        if compute is None:
            return []
        with transaction(self.factory) as db:
            running = metrics.running_instances(db, self.node_id)
        samples = []
        for instance_id in running:
            try:
                stats = compute.stats(instance_id)
            except CloudenvError:  # gone or stopped meanwhile: no sample this time
                continue
            now = self._monotonic()
            before = self._last.get(instance_id)
            self._last[instance_id] = (stats.cpu_time_ns, now)
            samples.append(
                metrics.Sample(
                    instance_id=instance_id,
                    time=clock.now(),
                    cpu_percent=_cpu_percent(before, stats.cpu_time_ns, now, stats.vcpus),
                    memory_kib=stats.memory_kib,
                    memory_used_kib=stats.memory_used_kib,
                    network={
                        name: {"rx": rx, "tx": tx}
                        for name, (rx, tx) in sorted(stats.interfaces.items())
                    },
                )
            )
        for gone in set(self._last) - {s.instance_id for s in samples}:
            del self._last[gone]
        with transaction(self.factory) as db:
            metrics.record_samples(db, self.node_id, samples)
        return samples


def _cpu_percent(before: tuple[int, float] | None, cpu_ns: int, now: float, vcpus: int) -> float:
    if before is None:
        return 0.0
    used_ns, wall = cpu_ns - before[0], now - before[1]
    if used_ns < 0 or wall <= 0:  # the guest restarted: its CPU time began again
        return 0.0
    return max(0.0, min(100.0, 100.0 * used_ns / (wall * 1e9) / max(1, vcpus)))
