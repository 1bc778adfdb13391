"""The one shape of a libvirt failure in both libvirt drivers: a DriverError saying what
was being done, then libvirt's own words."""

from __future__ import annotations

import re

import libvirt
import pytest

from cloudenv.drivers.errors import DriverError, NotFound
from cloudenv.drivers.libvirt_errors import libvirt_failure

pytestmark = pytest.mark.unit


def test_a_libvirt_error_becomes_a_driver_error_with_context() -> None:
    with pytest.raises(DriverError) as failed, libvirt_failure("Failed starting domain inst-1"):
        raise libvirt.libvirtError("Requested operation is not valid: domain is already running")
    assert failed.value.message == (
        "Failed starting domain inst-1: Requested operation is not valid: domain is already running"
    )
    assert isinstance(failed.value.__cause__, libvirt.libvirtError)  # kept for the node's log


def test_our_own_errors_pass_through_unchanged() -> None:
    with pytest.raises(NotFound, match="no snapshot s1"), libvirt_failure("Failed reverting"):
        raise NotFound("Instance inst-1 has no snapshot s1.")


def test_both_libvirt_drivers_use_the_helper_and_no_any_typed_call() -> None:
    from pathlib import Path

    import cloudenv.drivers.compute.libvirt_qemu as compute
    import cloudenv.drivers.storage.libvirt_pools as storage

    compute_source = Path(compute.__file__).read_text()
    assert (
        "libvirt_failure" in compute_source
        and "libvirt_failure" in Path(storage.__file__).read_text()
    )
    assert "def _call(" not in compute_source
    assert re.search(r"\bAny\b", compute_source) is None


class _Gone(libvirt.libvirtError):
    """What libvirt raises for a domain undefined since it was listed."""

    def __init__(self) -> None:
        super().__init__("Domain not found: no domain with matching uuid")
        self.err = (libvirt.VIR_ERR_NO_DOMAIN, 0, "Domain not found", 2, "", None, None, 0, 0)


class _Domain:
    def __init__(self, name: str, state: int | None) -> None:
        self._name, self._state = name, state

    def name(self) -> str:
        return self._name

    def state(self) -> list[int]:
        if self._state is None:
            raise _Gone()
        return [self._state, 0]


class _Connection:
    def __init__(self, domains: list[_Domain]) -> None:
        self.domains = domains

    def isAlive(self) -> bool:  # libvirt's name
        return True

    def listAllDomains(self, _flags: int) -> list[_Domain]:  # libvirt's name
        return self.domains


def test_a_domain_undefined_while_listing_is_left_out() -> None:
    """Between listing the domains and reading each one's state, another client (or the
    agent itself) may undefine one: the listing leaves it out rather than failing whole, as
    the agent's sync would then fail every round while domains come and go."""
    import threading

    from cloudenv.drivers.compute.base import PowerState
    from cloudenv.drivers.compute.libvirt_qemu import LibvirtComputeDriver

    driver = object.__new__(LibvirtComputeDriver)  # no libvirtd: the connection is a stand-in
    driver._lock = threading.Lock()
    driver._conn = _Connection(  # type: ignore[assignment]
        [
            _Domain("inst-a", libvirt.VIR_DOMAIN_RUNNING),
            _Domain("inst-gone", None),
            _Domain("inst-b", libvirt.VIR_DOMAIN_SHUTOFF),
        ]
    )
    assert driver.list_domains() == {"inst-a": PowerState.RUNNING, "inst-b": PowerState.STOPPED}
