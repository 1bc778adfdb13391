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
