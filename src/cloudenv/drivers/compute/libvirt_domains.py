"""What the QEMU and LXC compute drivers share: one libvirt connection with its reconnect,
domain lookup, the power verbs that are the same for both hypervisors, NIC hot-plug,
lifecycle events and serial consoles on their own connection.

A subclass names its URI and the flags its libvirt driver accepts (LXC takes none of
QEMU's undefine or console flags), and adds what only it can do.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import ClassVar

import libvirt

from cloudenv.drivers.compute.base import (
    ConsoleStream,
    InterfaceSpec,
    LifecycleCallback,
    PowerState,
)
from cloudenv.drivers.compute.designer import interface_element
from cloudenv.drivers.compute.libvirt_connection import (
    SerialConsole,
    open_connection,
    quiet,
    start_event_loop,
)
from cloudenv.drivers.compute.libvirt_xml import Domain
from cloudenv.drivers.errors import Conflict, DomainNotFound, DriverError
from cloudenv.drivers.libvirt_errors import error_code, libvirt_failure

log = logging.getLogger(__name__)

#: How long a live detach waits for the guest to release the device (libvirt's
#: VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED) before it fails and the device counts as attached.
DETACH_TIMEOUT_SECONDS = 30.0

_STATES = {
    libvirt.VIR_DOMAIN_RUNNING: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: PowerState.PAUSED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: PowerState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: PowerState.SHUTTING_DOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: PowerState.STOPPED,
    libvirt.VIR_DOMAIN_CRASHED: PowerState.STOPPED,
}
_EVENTS = {
    libvirt.VIR_DOMAIN_EVENT_STARTED: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_EVENT_RESUMED: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: PowerState.PAUSED,
    libvirt.VIR_DOMAIN_EVENT_STOPPED: PowerState.STOPPED,
    libvirt.VIR_DOMAIN_EVENT_CRASHED: PowerState.STOPPED,
}


class LibvirtDomains:
    """The verbs both libvirt compute drivers implement the same way."""

    #: virDomainUndefineFlags' flags this hypervisor accepts.
    UNDEFINE_FLAGS: ClassVar[int] = 0
    #: virDomainOpenConsole's flags (QEMU: FORCE, taking a console over; LXC: none).
    CONSOLE_FLAGS: ClassVar[int] = 0

    def __init__(self, uri: str, *, detach_timeout: float = DETACH_TIMEOUT_SECONDS) -> None:
        libvirt.registerErrorHandler(quiet, None)
        start_event_loop()
        self.uri = uri
        self.detach_timeout = detach_timeout
        self._lock = threading.Lock()
        self._callbacks: list[LifecycleCallback] = []
        # (domain name, device alias) -> set when libvirt reports the device removed
        self._removals: dict[tuple[str, str], threading.Event] = {}
        self._removals_lock = threading.Lock()  # never held while calling libvirt
        self._conn = open_connection(uri)
        self._watch_removals(self._conn)

    # Plumbing ---------------------------------------------------------------------------

    def _connection(self) -> libvirt.virConnect:
        with self._lock:
            try:
                if self._conn.isAlive():
                    return self._conn
            except libvirt.libvirtError:
                pass
            log.warning("libvirt connection lost; reconnecting")
            self._conn = open_connection(self.uri)
            self._watch_removals(self._conn)
            self._register_events(self._conn)
            return self._conn

    def _domain(self, name: str) -> libvirt.virDomain:
        connection = self._connection()
        with libvirt_failure(f"Failed looking up domain {name}"):
            try:
                return connection.lookupByName(name)
            except libvirt.libvirtError as exc:
                if error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN:
                    raise DomainNotFound(f"The hypervisor has no domain {name}.") from None
                raise

    def _maybe(self, name: str) -> libvirt.virDomain | None:
        try:
            return self._domain(name)
        except DomainNotFound:
            return None

    # Shared verbs ----------------------------------------------------------------------

    def undefine(self, name: str) -> None:
        domain = self._maybe(name)
        if domain is None:
            return
        with libvirt_failure(f"Failed removing domain {name}"):
            if domain.isActive():
                raise Conflict(f"Domain {name} is running; stop it before removing it.")
            domain.undefineFlags(self.UNDEFINE_FLAGS)

    def start(self, name: str) -> None:
        domain = self._domain(name)
        with libvirt_failure(f"Failed starting domain {name}"):
            if not domain.isActive():
                domain.create()

    def release(self, name: str) -> None:
        """Nothing of a stopped VM stays held on the node (containers override this)."""

    def destroy(self, name: str) -> None:
        domain = self._maybe(name)
        if domain is None:
            return
        with libvirt_failure(f"Failed powering off domain {name}"):
            if not domain.isActive():
                return
            try:
                domain.destroy()
            except libvirt.libvirtError:
                if domain.isActive():  # it stopped on its own meanwhile: not a failure
                    raise

    def state(self, name: str) -> PowerState | None:
        domain = self._maybe(name)
        if domain is None:
            return None
        with libvirt_failure(f"Failed reading the state of {name}"):
            try:
                code = int(domain.state()[0])
            except libvirt.libvirtError as exc:
                if error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN:
                    return None  # undefined between the lookup and the read
                raise
        return _STATES.get(code, PowerState.RUNNING)

    def list_domains(self) -> dict[str, PowerState]:
        connection = self._connection()
        listed: dict[str, PowerState] = {}
        with libvirt_failure("Failed listing domains"):
            for domain in connection.listAllDomains(0):
                try:
                    code = int(domain.state()[0])
                except libvirt.libvirtError as exc:
                    if error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN:
                        continue  # undefined between the listing and the read: not there
                    raise
                listed[domain.name()] = _STATES.get(code, PowerState.RUNNING)
        return listed

    def attach_interface(self, name: str, nic: InterfaceSpec, *, live: bool) -> None:
        domain = self._domain(name)
        element = interface_element(nic, owner=f"Instance {name}")
        with libvirt_failure(f"Failed attaching NIC {nic.mac} to {name}"):
            flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
            if live and domain.isActive():
                flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
            domain.attachDeviceFlags(element.to_xml(), flags)

    def detach_interface(self, name: str, mac: str, *, live: bool) -> None:
        domain = self._domain(name)
        context = f"Failed detaching NIC {mac} from {name}"
        with libvirt_failure(context):
            defined = Domain.from_xml(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            saved = next((i for i in defined.devices.interfaces if i.mac == mac), None)
            if saved is not None:
                domain.detachDeviceFlags(saved.to_xml(), libvirt.VIR_DOMAIN_AFFECT_CONFIG)
            if not (live and domain.isActive()):
                return
            running = Domain.from_xml(domain.XMLDesc(0))
        plugged = next((i for i in running.devices.interfaces if i.mac == mac), None)
        if plugged is None:
            return
        removed = threading.Event()
        key = (name, plugged.alias or "")
        with self._removals_lock:
            self._removals[key] = removed
        try:
            with libvirt_failure(context):
                domain.detachDeviceFlags(plugged.to_xml(), libvirt.VIR_DOMAIN_AFFECT_LIVE)
            if plugged.alias is not None and not removed.wait(self.detach_timeout):
                with libvirt_failure(f"Failed reading domain {name}"):
                    live_now = Domain.from_xml(domain.XMLDesc(0))
                if any(i.mac == mac for i in live_now.devices.interfaces):
                    raise DriverError(
                        f"The guest of domain {name} did not release NIC {mac} within "
                        f"{self.detach_timeout:.0f} s; it is still plugged into the running "
                        "guest (and gone from its definition)."
                    )
        finally:
            with self._removals_lock:
                self._removals.pop(key, None)

    def _await_removal(
        self, domain: libvirt.virDomain, name: str, target: str, removed: threading.Event
    ) -> None:
        """libvirt's live detach only asks the guest (ACPI/PCI unplug) and may return before
        the guest lets go; the disk is free only once libvirt reports it removed. The
        running XML is the fallback check, should the event have been missed."""
        if removed.wait(self.detach_timeout):
            return
        with libvirt_failure(f"Failed reading domain {name}"):
            live = Domain.from_xml(domain.XMLDesc(0))
        if any(d.target.dev == target for d in live.devices.disks):
            raise DriverError(
                f"The guest of domain {name} did not release disk {target} within "
                f"{self.detach_timeout:.0f} s (its operating system must accept the "
                "unplug); it is still attached to the running guest."
            )

    def _watch_removals(self, conn: libvirt.virConnect) -> None:
        def on_removed(
            _conn: libvirt.virConnect, domain: libvirt.virDomain, alias: str, _opaque: object
        ) -> None:
            with self._removals_lock:
                waiter = self._removals.get((domain.name(), alias))
            if waiter is not None:
                waiter.set()

        conn.domainEventRegisterAny(
            None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, on_removed, None
        )

    def open_serial_console(self, name: str) -> ConsoleStream:
        return SerialConsole(self.uri, name, flags=self.CONSOLE_FLAGS)

    def watch_lifecycle(self, callback: LifecycleCallback) -> None:
        first = not self._callbacks
        self._callbacks.append(callback)
        if first:
            self._register_events(self._connection())

    def _register_events(self, conn: libvirt.virConnect) -> None:
        if not self._callbacks:
            return

        def on_event(
            _conn: libvirt.virConnect,
            domain: libvirt.virDomain,
            event: int,
            _detail: int,
            _opaque: object,
        ) -> None:
            state = _EVENTS.get(event)
            if state is None:
                return
            for callback in list(self._callbacks):
                try:
                    callback(domain.name(), state)
                except Exception:
                    log.exception("lifecycle callback failed")

        conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_event, None)

    def close(self) -> None:
        self._callbacks.clear()
        with contextlib.suppress(libvirt.libvirtError):
            self._conn.close()
