"""An in-memory NetworkDriver for unit tests: the Open vSwitch driver's semantics, no OVS.

The node's NICs are given at construction. Bridges live in a dictionary; ``add_foreign_bridge``
pretends the host has a bridge cloudenv didn't make (never changed, refused by name), ``plug``
pretends libvirt joined an instance's tap to a bridge (a port not ours, found by its MAC).
Every call is appended to ``calls`` as a tuple of strings; ``fail_next`` makes the next call
of a verb raise a given error, changing nothing. ``revision`` counts the changes made (what
an OVS transaction would be): a reconcile that finds everything as wanted leaves it alone.

The refusals and the VLAN rules are the OVS driver's own (``rules``): an uplink port named
after its NIC, or the active-backup bond ``bond-<bridge>`` for several; MTU applied to the
uplink NICs (which keep it when they stop being uplinks, as with OVS's ``mtu_request``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from cloudenv.drivers.errors import CloudenvError, Conflict, NotFound
from cloudenv.drivers.network.base import (
    Datapath,
    NicInfo,
    PortInfo,
    PortVlan,
    SwitchSpec,
    VlanMode,
)
from cloudenv.drivers.network.rules import check_switch, check_vlan, uplink_port_name

#: How an uplink (or any port with no VLAN columns) reads: a trunk of every VLAN.
ALL_VLANS = PortVlan(VlanMode.TRUNK)


@dataclass
class FakePort:
    name: str
    interfaces: tuple[str, ...]
    mac: str | None = None
    vlan: PortVlan = ALL_VLANS
    ours: bool = False


@dataclass
class FakeBridge:
    name: str
    ours: bool
    spec: SwitchSpec | None = None  # ours: the spec it was last brought to
    datapath: Datapath = Datapath.NETDEV
    ports: dict[str, FakePort] = field(default_factory=dict)

    def uplink_ports(self) -> list[FakePort]:
        return [p for p in self.ports.values() if p.ours]


class FakeNetworkDriver:
    """NetworkDriver kept in memory, over the NICs given."""

    def __init__(self, nics: Iterable[NicInfo] = (), datapath: Datapath = Datapath.NETDEV) -> None:
        self._datapath = datapath
        self.nics: dict[str, NicInfo] = {n.name: replace(n, vswitch=None) for n in nics}
        self.bridges: dict[str, FakeBridge] = {}
        self.calls: list[tuple[str, ...]] = []
        self.revision = 0
        self._failures: dict[str, CloudenvError] = {}

    # -- test helpers ----------------------------------------------------------------

    def add_foreign_bridge(self, name: str, ports: Iterable[str] = ()) -> None:
        """A bridge the host has that cloudenv didn't make, with NICs as its ports."""
        bridge = FakeBridge(name, ours=False)
        for port in ports:
            bridge.ports[port] = FakePort(port, (port,))
        self.bridges[name] = bridge

    def plug(self, bridge: str, port: str, mac: str) -> None:
        """Pretend libvirt joined an instance's tap ``port`` (guest MAC ``mac``) to
        ``bridge``, with no VLAN yet, as a guest start does."""
        self.bridges[bridge].ports[port] = FakePort(port, (port,), mac.lower())

    def unplug(self, bridge: str, port: str) -> None:
        """Pretend the instance stopped: libvirt removes its port."""
        self.bridges[bridge].ports.pop(port, None)

    def set_link(self, nic: str, up: bool) -> None:
        self.nics[nic] = replace(self.nics[nic], link=up)

    def fail_next(self, verb: str, error: CloudenvError) -> None:
        """The next call of ``verb`` (e.g. "ensure_switch") raises ``error``."""
        self._failures[verb] = error

    def _record(self, verb: str, *args: object) -> None:
        self.calls.append((verb, *(str(a) for a in args)))
        failure = self._failures.pop(verb, None)
        if failure is not None:
            raise failure

    # -- the driver ------------------------------------------------------------------

    def datapath(self) -> Datapath:
        self._record("datapath")
        return self._datapath

    def _holder(self, nic: str) -> tuple[FakeBridge, FakePort] | None:
        for bridge in self.bridges.values():
            for port in bridge.ports.values():
                if nic in port.interfaces:
                    return bridge, port
        return None

    def list_nics(self) -> list[NicInfo]:
        self._record("list_nics")
        found = []
        for nic in self.nics.values():
            held = self._holder(nic.name)
            found.append(replace(nic, vswitch=held[0].name if held else None))
        return sorted(found, key=lambda n: n.name)

    def switches(self) -> list[str]:
        self._record("switches")
        return sorted(name for name, b in self.bridges.items() if b.ours)

    def _refuse_foreign(self, bridge: FakeBridge) -> None:
        if not bridge.ours:
            raise Conflict(
                f"Open vSwitch bridge {bridge.name} exists on this node but wasn't made by "
                "cloudenv; cloudenv never changes it: rename or remove it, or choose another "
                "vSwitch name."
            )

    def ensure_switch(self, spec: SwitchSpec) -> None:
        self._record("ensure_switch", spec.name, ",".join(spec.uplinks))
        check_switch(spec)
        missing = [nic for nic in spec.uplinks if nic not in self.nics]
        if missing:
            raise NotFound(
                f"vSwitch {spec.name}: this node has no NIC named {', '.join(missing)}; "
                "choose uplinks among the node's NICs."
            )
        bridge = self.bridges.get(spec.name)
        if bridge is not None:
            self._refuse_foreign(bridge)
        for nic in spec.uplinks:
            held = self._holder(nic)
            if held is not None and not (held[0] is bridge and held[1].ours):
                other = held[0]
                where = (
                    f"an uplink of vSwitch {other.name}"
                    if other.ours
                    else f"a port ({held[1].name}) of the bridge {other.name}, which "
                    "cloudenv doesn't manage"
                )
                raise Conflict(f"vSwitch {spec.name}: the NIC {nic} is already {where}.")
        if bridge is None:
            bridge = self.bridges[spec.name] = FakeBridge(spec.name, ours=True)
            self.revision += 1
        changed = bridge.spec != spec or bridge.datapath != self._datapath
        bridge.spec = spec
        bridge.datapath = self._datapath
        want = uplink_port_name(spec)
        for port in bridge.uplink_ports():
            if port.name != want or port.interfaces != spec.uplinks:
                del bridge.ports[port.name]
                changed = True
        if want is not None and want not in bridge.ports:
            bridge.ports[want] = FakePort(want, spec.uplinks, ours=True)
            changed = True
        for nic in spec.uplinks:
            info = self.nics[nic]
            if spec.mtu is not None and info.mtu != spec.mtu:
                self.nics[nic] = replace(info, mtu=spec.mtu)
                changed = True
        self.revision += changed

    def remove_switch(self, name: str) -> None:
        self._record("remove_switch", name)
        bridge = self.bridges.get(name)
        if bridge is None:
            return
        self._refuse_foreign(bridge)
        del self.bridges[name]
        self.revision += 1

    def ports(self, bridge: str) -> list[PortInfo]:
        self._record("ports", bridge)
        row = self.bridges.get(bridge)
        if row is None:
            raise NotFound(f"vSwitch {bridge} doesn't exist on this node.")
        return sorted(
            (PortInfo(p.name, bridge, p.mac, p.vlan, p.ours) for p in row.ports.values()),
            key=lambda p: p.name,
        )

    def set_port_vlan(self, bridge: str, mac: str, vlan: PortVlan) -> str:
        self._record("set_port_vlan", bridge, mac, vlan.mode.value)
        vlan = check_vlan(vlan)
        row = self.bridges.get(bridge)
        if row is None:
            raise NotFound(f"vSwitch {bridge} doesn't exist on this node.")
        self._refuse_foreign(row)
        for port in row.ports.values():
            if port.mac is not None and port.mac == mac.lower():
                if port.vlan != vlan:
                    port.vlan = vlan
                    self.revision += 1
                return port.name
        raise NotFound(
            f"vSwitch {bridge} has no port for the interface with MAC {mac} (is the "
            "instance running?)."
        )
