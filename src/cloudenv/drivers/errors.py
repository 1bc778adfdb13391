"""Errors drivers raise; all are cloudenv errors, so a task fails with their message.

Drivers import their errors from here only (never ``cloudenv.errors``)."""

from __future__ import annotations

from cloudenv.errors import CloudenvError, Conflict, DriverError, InvalidInput, NotFound


class DomainNotFound(NotFound):
    """The hypervisor has no such domain (never defined, or already undefined)."""


class Unsupported(DriverError):
    """The component can't do this (e.g. a live change QEMU refuses); the message says why."""


__all__ = [
    "CloudenvError",
    "Conflict",
    "DomainNotFound",
    "DriverError",
    "InvalidInput",
    "NotFound",
    "Unsupported",
]
