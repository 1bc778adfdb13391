"""Errors drivers raise; all are cloudenv errors, so a task fails with their message.

Drivers import their errors from here only (never ``cloudenv.errors``)."""

from __future__ import annotations

from cloudenv.errors import CloudenvError, Conflict, DriverError, InvalidInput, NotFound


class DomainNotFound(NotFound):
    """The hypervisor has no such domain (never defined, or already undefined)."""


class InvalidDomain(InvalidInput):
    """The definition asked for can't work (IDE on q35, two disks with one boot order, ...);
    the message says what to change. A refusal, not a crash: the task fails with it."""


class Unsupported(DriverError):
    """The component can't do this (e.g. a live change QEMU refuses); the message says why."""


__all__ = [
    "CloudenvError",
    "Conflict",
    "DomainNotFound",
    "DriverError",
    "InvalidDomain",
    "InvalidInput",
    "NotFound",
    "Unsupported",
]
