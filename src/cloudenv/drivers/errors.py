"""Errors drivers raise; both are cloudenv errors, so a task fails with their message."""

from __future__ import annotations

from cloudenv.errors import DriverError, NotFound


class DomainNotFound(NotFound):
    """The hypervisor has no such domain (never defined, or already undefined)."""


class Unsupported(DriverError):
    """The component can't do this (e.g. a live change QEMU refuses); the message says why."""


__all__ = ["DomainNotFound", "DriverError", "Unsupported"]
