"""What the heartbeat says about this node's health: whether libvirt answers and how much
memory is available (``services.monitoring.health`` judges it; pool usage has its own
job and table)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from cloudenv.agent.drivers import Drivers
from cloudenv.errors import CloudenvError
from cloudenv.host import system
from cloudenv.services.monitoring.health import HealthFacts, Hypervisor

log = logging.getLogger(__name__)

#: The remedy ``agent.drivers`` appends to why libvirt was not found; the health reason
#: gives its own.
_REMEDY = " Start it with "


def collect_facts(
    drivers: Drivers, memory: Callable[[], tuple[int, int]] = system.memory
) -> HealthFacts:
    hypervisor, error = Hypervisor.OK, ""
    compute = drivers.compute
    if compute is None:
        hypervisor, error = Hypervisor.ABSENT, drivers.unavailable.partition(_REMEDY)[0]
    else:
        try:
            compute.list_domains()  # cheap, and reconnects when the connection was lost
        except CloudenvError as exc:
            hypervisor, error = Hypervisor.UNREACHABLE, exc.message
        except Exception as exc:
            log.warning("asking libvirt for its domains failed: %s", exc)
            hypervisor, error = Hypervisor.UNREACHABLE, "it did not answer"
    total, available = memory()
    return HealthFacts(hypervisor, error, total, available)
