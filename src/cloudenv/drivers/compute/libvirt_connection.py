"""Connections to libvirtd for the compute driver: the process-wide event loop, opening a
connection, and a serial console on a connection of its own (a blocking read on a shared
connection stalls every other call on it; RUNTIME.md)."""

from __future__ import annotations

import contextlib
import threading

import libvirt

from cloudenv.drivers.libvirt_errors import libvirt_failure

__all__ = ["SerialConsole", "open_connection", "quiet", "start_event_loop"]

_event_loop_lock = threading.Lock()
_event_loop_started = False


def start_event_loop() -> None:
    """libvirt delivers events only to connections opened after its loop is registered."""
    global _event_loop_started
    with _event_loop_lock:
        if _event_loop_started:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _event_loop_started = True


def quiet(_ctx: object, _err: object) -> None:
    """libvirt prints every error to stderr by default; ours are raised, not printed."""


def open_connection(uri: str) -> libvirt.virConnect:
    with libvirt_failure(f"libvirtd is not reachable at {uri}"):
        return libvirt.open(uri)


class SerialConsole:
    """One guest serial console on its own connection. ``flags``: QEMU takes
    VIR_DOMAIN_CONSOLE_FORCE (a new viewer takes the console over); LXC refuses any flag."""

    def __init__(self, uri: str, name: str, *, flags: int = 0) -> None:
        self._conn = open_connection(uri)
        try:
            with libvirt_failure(f"Failed opening the serial console of {name}"):
                domain = self._conn.lookupByName(name)
                self._stream = self._conn.newStream(0)
                domain.openConsole(None, self._stream, flags)
        except Exception:
            with contextlib.suppress(libvirt.libvirtError):
                self._conn.close()
            raise

    def recv(self, max_bytes: int = 4096) -> bytes:
        try:
            data = self._stream.recv(max_bytes)
        except libvirt.libvirtError:
            return b""
        return data if isinstance(data, bytes) else b""

    def send(self, data: bytes) -> None:
        self._stream.send(data)

    def close(self) -> None:
        with contextlib.suppress(libvirt.libvirtError):
            self._stream.abort()
        with contextlib.suppress(libvirt.libvirtError):
            self._conn.close()
