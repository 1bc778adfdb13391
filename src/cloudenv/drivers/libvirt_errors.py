"""The one way libvirt drivers report a libvirt failure.

Every call into libvirt that can fail runs inside ``libvirt_failure(context)``, which turns
``libvirt.libvirtError`` into a ``DriverError`` whose message is the context followed by
libvirt's own text: "Failed starting domain inst-…: <libvirt text>". Lookups that must tell
"missing" from "broken" catch ``libvirt.libvirtError`` themselves and check
``error_code``. Only drivers import this (it needs libvirt-python).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import libvirt

from cloudenv.drivers.errors import DriverError

__all__ = ["error_code", "libvirt_failure"]


@contextlib.contextmanager
def libvirt_failure(context: str) -> Iterator[None]:
    """Turn a libvirt error into a DriverError "<context>: <libvirt text>"."""
    try:
        yield
    except libvirt.libvirtError as err:
        raise DriverError(f"{context}: {err.get_error_message() or err}") from err


def error_code(err: libvirt.libvirtError) -> int:
    """libvirt's error number (``libvirt.VIR_ERR_*``) of ``err``."""
    return int(err.get_error_code() or 0)
