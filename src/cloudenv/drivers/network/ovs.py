"""The network driver on Open vSwitch: OVSDB through ovsdbapp, NICs through pyroute2.

One IDL connection per OVSDB endpoint and process (ovsdbapp keeps a connection per API
class, so each endpoint gets a class of its own). The IDL reconnects by itself when
ovsdb-server restarts, and resynchronises its copy of the database; every verb first waits
(at most ``timeout`` seconds) until it is connected and monitoring again, so it never acts
on a stale copy.

Changes are made by one custom ovsdbapp command per verb, which reads the rows and writes
the differences in the same OVSDB transaction (a reconcile is atomic). A dry run of the same
code under the connection's lock comes first; when it finds nothing to change, no
transaction is sent at all (an OVS transaction bumps ``next_cfg`` and makes ovs-vswitchd
reconfigure), so a repeated reconcile is silent.

Ownership: the bridge, its uplink port (a NIC's port, or the bond ``bond-<bridge>``) and
the uplink interfaces carry ``external_ids:cloudenv-owned=true`` (rules.OWNER_KEY). Ports
libvirt adds for instances aren't ours: we only set their VLAN columns, on bridges that are.
A driver made for a node (``owner``) also marks its bridges ``cloudenv-node=<node id>``
(rules.NODE_KEY), lists only those, and refuses to touch another node's.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from cloudenv.drivers.errors import CloudenvError, Conflict, DriverError, NotFound
from cloudenv.drivers.network.base import Datapath, NicInfo, PortInfo, PortVlan, SwitchSpec
from cloudenv.drivers.network.rules import (
    NODE_KEY,
    OWNER_KEY,
    OWNER_VALUE,
    ROLE_KEY,
    UPLINK_ROLE,
    VlanColumns,
    check_switch,
    check_vlan,
    uplink_port_name,
    vlan_columns,
    vlan_of,
)

log = logging.getLogger(__name__)

DEFAULT_REMOTE = "unix:/var/run/openvswitch/db.sock"
START_HINT = "Start Open vSwitch with scripts/start-ovs.sh (or its service)."
#: Link kinds list_nics reports: physical NICs (no kind) and veth pairs (which stand in for
#: them in containers and tests). Taps (instances' and the netdev datapath's internal
#: ports), bridges, OVS internal ports, ifb and the rest are the node's plumbing.
NIC_KINDS = (None, "veth")
IFF_UP = 0x1
IFF_LOOPBACK = 0x8
IFF_LOWER_UP = 0x10000
#: Bridge other_config keys the MAC table settings go to.
MAC_TABLE_SIZE = "mac-table-size"
MAC_AGING_TIME = "mac-aging-time"

T = TypeVar("T")


# -- the connection ----------------------------------------------------------------------

_apis: dict[str, Any] = {}
_apis_lock = threading.Lock()


def _api_for(remote: str, timeout: float) -> Any:
    """The process's ovsdbapp API on ``remote``, connected on first use."""
    from ovsdbapp.backend.ovs_idl import connection, idlutils
    from ovsdbapp.schema.open_vswitch import impl_idl

    with _apis_lock:
        api = _apis.get(remote)
        if api is not None:
            return api
        try:
            helper = idlutils.get_schema_helper(remote, "Open_vSwitch")
            helper.register_all()
            conn = connection.Connection(connection.OvsdbIdl(remote, helper), timeout)
            # ovsdbapp's Backend keeps its connection in a class attribute: a class per
            # endpoint keeps endpoints (and tests' fake endpoints) apart.
            cls = type("CloudenvOvsdb", (impl_idl.OvsdbIdl,), {"_ovsdb_connection": None})
            api = cls(conn)
        except Exception as exc:
            raise DriverError(
                f"Open vSwitch's database can't be reached at {remote}: {exc}. {START_HINT}"
            ) from exc
        _apis[remote] = api
        return api


def _run_command(api: Any, fn: Callable[[Any], T], *, switch: bool = True) -> T:
    """Run ``fn(txn)`` inside one OVSDB transaction (in ovsdbapp's connection thread) and
    return its result; an error it raises (Conflict, NotFound) aborts the transaction.

    ``switch``: ovsdbapp's ovs-vsctl-like transaction, which bumps ``next_cfg`` and waits
    until ovs-vswitchd has applied the change; otherwise a plain one (reads)."""
    from ovsdbapp.backend.ovs_idl.command import BaseCommand
    from ovsdbapp.backend.ovs_idl.transaction import Transaction

    class _Apply(BaseCommand):  # type: ignore[misc]
        def run_idl(self, txn: Any) -> None:
            self.result = fn(txn)

    command = _Apply(api)
    if switch:
        txn = api.create_transaction(check_error=True, log_errors=False)
    else:
        txn = Transaction(api, api.ovsdb_connection, check_error=True, log_errors=False)
    txn.add(command)
    try:
        txn.commit()
    except CloudenvError:
        raise
    except Exception as exc:
        raise DriverError(f"Open vSwitch refused the change: {exc}") from exc
    result: T = command.result
    return result


def _sync(api: Any) -> None:
    """Make the IDL's copy include every change committed before this call (by libvirt
    adding an instance's port, by ovs-vsctl, ...): the copy follows the server by
    notifications, which may lag a moment. A fetch is a round trip that changes nothing;
    ovsdb-server sends the updates it owes this client before the reply, and the IDL
    applies messages in order."""

    def fetch(txn: Any) -> None:
        root = next(iter(api.tables["Open_vSwitch"].rows.values()))
        root.fetch("next_cfg")

    _run_command(api, fetch, switch=False)


# -- reading rows ------------------------------------------------------------------------


def _ours(row: Any) -> bool:
    # (A row inserted by the running transaction has no columns until they are set.)
    return bool(getattr(row, "external_ids", {}).get(OWNER_KEY) == OWNER_VALUE)


def _one(value: list[Any]) -> Any:
    return value[0] if value else None


def _bridge(tables: Any, name: str) -> Any:
    for row in tables["Bridge"].rows.values():
        if row.name == name:
            return row
    return None


def _holders(tables: Any) -> dict[str, tuple[Any, Any]]:
    """Interface name -> (bridge row, port row) for every interface on a bridge."""
    held: dict[str, tuple[Any, Any]] = {}
    for bridge in tables["Bridge"].rows.values():
        for port in bridge.ports:
            for iface in port.interfaces:
                held[iface.name] = (bridge, port)
    return held


def _port_vlan(port: Any) -> PortVlan:
    return vlan_of(VlanColumns(list(port.vlan_mode), list(port.tag), list(port.trunks)))


def _uplink_ports(bridge: Any) -> list[Any]:
    return [p for p in bridge.ports if _ours(p) and p.external_ids.get(ROLE_KEY) == UPLINK_ROLE]


# -- the driver --------------------------------------------------------------------------


class OvsNetworkDriver:
    """NetworkDriver on this node's Open vSwitch.

    ``owner`` is the node the driver acts for (its bridges carry it; see the module's
    docstring); ``datapath`` overrides the detection; ``sysfs`` is where /sys is (tests);
    ``timeout`` bounds each OVSDB transaction and the wait for a (re)connection.
    """

    def __init__(
        self,
        remote: str = DEFAULT_REMOTE,
        *,
        timeout: float = 30.0,
        datapath: Datapath | None = None,
        sysfs: str = "/sys",
        owner: str | None = None,
    ) -> None:
        self.remote = remote
        self.owner = owner
        self.timeout = timeout
        self.sysfs = Path(sysfs)
        self._datapath = datapath
        #: Transactions this driver sent that change OVS (a reconcile that finds
        #: everything as wanted sends none): for logs, and for tests to check exactly that.
        self.transactions = 0

    # -- connection ------------------------------------------------------------------

    def _api(self) -> Any:
        """The API once its IDL is connected and has the database's current contents."""
        api = _api_for(self.remote, self.timeout)
        idl = api.idl
        deadline = time.monotonic() + self.timeout
        while True:
            with api.ovsdb_connection.lock:
                # python-ovs exposes no public "connected" test; the session's is the one.
                ready = idl._session.is_connected() and idl.state == idl.IDL_S_MONITORING
            if ready:
                _sync(api)
                return api
            if time.monotonic() > deadline:
                raise DriverError(
                    f"Open vSwitch's database at {self.remote} did not answer within "
                    f"{self.timeout:g} s. {START_HINT}"
                )
            time.sleep(0.05)

    def _read(self, fn: Callable[[Any], T]) -> T:
        """``fn(tables)`` on a consistent copy (the connection thread holds the lock while it
        applies updates)."""
        api = self._api()
        with api.ovsdb_connection.lock:
            return fn(api.tables)

    # -- datapath --------------------------------------------------------------------

    def datapath(self) -> Datapath:
        """``system`` when the kernel has the openvswitch module loaded (scripts/start-ovs.sh
        loads it where it exists) and ovs-vswitchd offers it; ``netdev`` otherwise. The
        datapath types ovs-vswitchd reports list ``system`` even without the module (they
        are the datapaths it was built with), so the module decides."""
        if self._datapath is None:
            kernel = (self.sysfs / "module" / "openvswitch").is_dir()

            def offered(tables: Any) -> list[str]:
                root = next(iter(tables["Open_vSwitch"].rows.values()), None)
                return list(root.datapath_types) if root is not None else []

            types = self._read(offered) if kernel else []
            system = kernel and (not types or Datapath.SYSTEM.value in types)
            self._datapath = Datapath.SYSTEM if system else Datapath.NETDEV
        return self._datapath

    # -- NICs ------------------------------------------------------------------------

    def list_nics(self) -> list[NicInfo]:
        from pyroute2 import IPRoute

        def plumbing(tables: Any) -> tuple[dict[str, str], set[str]]:
            owners = {name: bridge.name for name, (bridge, _) in _holders(tables).items()}
            # Internal, patch, tunnel and tap interfaces are OVS's own devices, whatever
            # link kind the kernel gives them; a NIC is a "system" interface (type "").
            special = {row.name for row in tables["Interface"].rows.values() if row.type != ""}
            return owners, special

        owners, special = self._read(plumbing)
        with IPRoute() as ip:
            links = ip.get_links()
            addresses: dict[int, list[str]] = {}
            for addr in ip.get_addr():
                # "address/prefix"; link-local ones (fe80::/10, 169.254/16) every NIC with
                # IPv6 has, and they carry no management traffic.
                text = addr.get_attr("IFA_ADDRESS")
                if text is None or ipaddress.ip_address(text).is_link_local:
                    continue
                addresses.setdefault(addr["index"], []).append(f"{text}/{addr['prefixlen']}")
        nics = []
        for link in links:
            name = link.get_attr("IFLA_IFNAME")
            info = link.get_attr("IFLA_LINKINFO")
            kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
            flags = link["flags"]
            if flags & IFF_LOOPBACK or kind not in NIC_KINDS or name in special:
                continue
            nics.append(
                NicInfo(
                    name=name,
                    mac=(link.get_attr("IFLA_ADDRESS") or "").lower(),
                    mtu=link.get_attr("IFLA_MTU"),
                    speed=self._speed(name),
                    link=bool(flags & IFF_UP and flags & IFF_LOWER_UP),
                    driver=self._driver_name(name) or kind or "",
                    vswitch=owners.get(name),
                    addresses=tuple(addresses.get(link["index"], ())),
                )
            )
        return sorted(nics, key=lambda n: n.name)

    def _speed(self, name: str) -> int | None:
        # The kernel refuses (EINVAL) or says -1 when the link is down or the driver can't
        # tell; both mean "unknown".
        try:
            value = int((self.sysfs / "class" / "net" / name / "speed").read_text().strip())
        except (OSError, ValueError):
            return None
        return value if value > 0 else None

    def _driver_name(self, name: str) -> str:
        try:
            return os.path.basename(
                os.readlink(self.sysfs / "class" / "net" / name / "device" / "driver")
            )
        except OSError:
            return ""

    # -- switches --------------------------------------------------------------------

    def switches(self) -> list[str]:
        return self._read(
            lambda t: sorted(
                row.name
                for row in t["Bridge"].rows.values()
                if _ours(row)
                and (self.owner is None or row.external_ids.get(NODE_KEY) == self.owner)
            )
        )

    def ensure_switch(self, spec: SwitchSpec) -> None:
        check_switch(spec)
        datapath = self.datapath()
        self._check_nics(spec)
        api = self._api()
        with api.ovsdb_connection.lock:
            pending = _converge(api, spec, datapath, self.owner, None)
        if pending:
            self.transactions += 1
            changes = _run_command(api, lambda txn: _converge(api, spec, datapath, self.owner, txn))
            log.info("vSwitch %s: %s", spec.name, "; ".join(changes) or "no change")
        self._links_up(spec)

    def _check_nics(self, spec: SwitchSpec) -> None:
        from pyroute2 import IPRoute

        with IPRoute() as ip:
            missing = [nic for nic in spec.uplinks if not ip.link_lookup(ifname=nic)]
        if missing:
            raise NotFound(
                f"vSwitch {spec.name}: this node has no NIC named {', '.join(missing)}; "
                "choose uplinks among the node's NICs."
            )

    def _links_up(self, spec: SwitchSpec) -> None:
        """The bridge's own (internal) interface and the uplinks are administratively up.
        ovs-vswitchd creates the bridge's device once it has applied the transaction, down;
        after an ovs-vswitchd restart on the netdev datapath it makes it again, down."""
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError

        deadline = time.monotonic() + self.timeout
        with IPRoute() as ip:
            for name in (spec.name, *spec.uplinks):
                while not (index := ip.link_lookup(ifname=name)):
                    if time.monotonic() > deadline:
                        raise DriverError(
                            f"vSwitch {spec.name}: ovs-vswitchd did not create the device "
                            f"{name} within {self.timeout:g} s; is it running? {START_HINT}"
                        )
                    time.sleep(0.05)
                try:
                    link = ip.get_links(index[0])[0]
                    if not link["flags"] & IFF_UP:
                        ip.link("set", index=index[0], state="up")
                except NetlinkError as exc:
                    if exc.code != errno.ENODEV:
                        raise DriverError(
                            f"vSwitch {spec.name}: can't set {name} up: {exc}"
                        ) from exc

    def remove_switch(self, name: str) -> None:
        api = self._api()

        def remove(txn: Any) -> bool:
            bridge = _bridge(api.tables, name)
            if bridge is None:
                return False
            _refuse_foreign(bridge, self.owner)
            for port in bridge.ports:
                for iface in port.interfaces:
                    iface.delete()
                port.delete()
            api._ovs.delvalue("bridges", bridge)
            bridge.delete()
            return True

        if not self._read(lambda t: _bridge(t, name) is not None):
            return
        self.transactions += 1
        if _run_command(api, remove):
            log.info("vSwitch %s removed", name)

    # -- ports -----------------------------------------------------------------------

    def ports(self, bridge: str) -> list[PortInfo]:
        def read(tables: Any) -> list[PortInfo]:
            row = _bridge(tables, bridge)
            if row is None:
                raise NotFound(f"vSwitch {bridge} doesn't exist on this node.")
            found = []
            for port in row.ports:
                if port.name == row.name:  # the bridge's own internal port
                    continue
                macs = [
                    i.external_ids["attached-mac"].lower()
                    for i in port.interfaces
                    if "attached-mac" in i.external_ids
                ]
                found.append(
                    PortInfo(port.name, row.name, _one(macs), _port_vlan(port), _ours(port))
                )
            return sorted(found, key=lambda p: p.name)

        return self._read(read)

    def set_port_vlan(self, bridge: str, mac: str, vlan: PortVlan) -> str:
        vlan = check_vlan(vlan)
        want = vlan_columns(vlan)
        api = self._api()

        def find(tables: Any) -> tuple[Any, bool]:
            row = _bridge(tables, bridge)
            if row is None:
                raise NotFound(f"vSwitch {bridge} doesn't exist on this node.")
            _refuse_foreign(row, self.owner)
            for port in row.ports:
                if any(
                    i.external_ids.get("attached-mac", "").lower() == mac.lower()
                    for i in port.interfaces
                ):
                    have = VlanColumns(list(port.vlan_mode), list(port.tag), list(port.trunks))
                    return port, have != want
            raise NotFound(
                f"vSwitch {bridge} has no port for the interface with MAC {mac} (is the "
                "instance running?)."
            )

        def apply(txn: Any) -> str:
            port, differs = find(api.tables)
            if differs:
                port.vlan_mode = want.vlan_mode
                port.tag = want.tag
                port.trunks = want.trunks
            return str(port.name)

        port, differs = self._read(find)
        if not differs:
            return str(port.name)
        self.transactions += 1
        name = _run_command(api, apply)
        log.info("vSwitch %s: port %s now %s", bridge, name, vlan)
        return name


def _refuse_foreign(bridge: Any, owner: str | None) -> None:
    if not _ours(bridge):
        raise Conflict(
            f"Open vSwitch bridge {bridge.name} exists on this node but wasn't made by "
            f"cloudenv (no external_ids:{OWNER_KEY}={OWNER_VALUE}); cloudenv never changes "
            "it: rename or remove it, or choose another vSwitch name."
        )
    other = bridge.external_ids.get(NODE_KEY)
    if owner is not None and other not in (None, owner):
        raise Conflict(
            f"Open vSwitch bridge {bridge.name} belongs to node {other}, which shares this "
            "host's Open vSwitch; choose another vSwitch name."
        )


_UNSET = object()


def _converge(
    api: Any, spec: SwitchSpec, datapath: Datapath, owner: str | None, txn: Any
) -> list[str]:
    """Bring the bridge ``spec.name`` to ``spec`` (made for ``owner``); with ``txn`` None
    only say what would change. Returns the changes (empty: it is as wanted)."""
    tables = api.tables
    changes: list[str] = []
    marker = {OWNER_KEY: OWNER_VALUE}
    uplink_marker = {**marker, ROLE_KEY: UPLINK_ROLE}
    bridge_marker = marker if owner is None else {**marker, NODE_KEY: owner}
    mtu = [spec.mtu] if spec.mtu is not None else []

    def setcol(row: Any, column: str, value: Any, what: str) -> None:
        # A row inserted by this transaction has no value to read until one is set: it
        # has the column's default (empty), which needs no write.
        have = getattr(row, column, _UNSET)
        if have is _UNSET and value in ([], {}, ""):
            return
        if have != value:
            changes.append(what)
            if txn is not None:
                setattr(row, column, value)

    bridge = _bridge(tables, spec.name)
    if bridge is not None:
        _refuse_foreign(bridge, owner)

    # Uplinks must be free: not on another bridge, nor on this one as a port not ours.
    held = _holders(tables)
    mine = {p.uuid for p in _uplink_ports(bridge)} if bridge is not None else set()
    for nic in spec.uplinks:
        if nic in held and held[nic][1].uuid not in mine:
            other_bridge, other_port = held[nic]
            where = (
                f"an uplink of vSwitch {other_bridge.name}"
                if _ours(other_bridge)
                else f"a port ({other_port.name}) of the bridge {other_bridge.name}, which "
                "cloudenv doesn't manage"
            )
            raise Conflict(f"vSwitch {spec.name}: the NIC {nic} is already {where}.")

    if bridge is None:
        changes.append(f"create bridge ({datapath.value} datapath)")
        if txn is None:
            return changes + [f"add uplink {nic}" for nic in spec.uplinks]
        internal = txn.insert(tables["Interface"])
        internal.name = spec.name
        internal.type = "internal"
        local = txn.insert(tables["Port"])
        local.name = spec.name
        local.interfaces = [internal]
        bridge = txn.insert(tables["Bridge"])
        bridge.name = spec.name
        bridge.ports = [local]
        bridge.external_ids = bridge_marker
        api._ovs.addvalue("bridges", bridge)

    setcol(bridge, "datapath_type", datapath.value, f"datapath {datapath.value}")
    setcol(bridge, "external_ids", {**bridge.external_ids, **bridge_marker}, "mark as ours")
    other = dict(getattr(bridge, "other_config", {}))
    for key, value in (
        (MAC_TABLE_SIZE, spec.mac_table_size),
        (MAC_AGING_TIME, spec.mac_aging_seconds),
    ):
        if value is None:
            other.pop(key, None)
        else:
            other[key] = str(value)
    setcol(bridge, "other_config", other, "MAC table settings")
    for port in bridge.ports:
        if port.name == spec.name:
            for iface in port.interfaces:
                setcol(iface, "mtu_request", mtu, f"MTU {spec.mtu or 'default'} on {spec.name}")

    # The uplink port: reuse interface rows of NICs that stay uplinks (they keep their
    # settings and OVS keeps the device open); delete ports that no longer fit.
    want_port = uplink_port_name(spec)
    current = _uplink_ports(bridge)
    ifaces = {i.name: i for p in current for i in p.interfaces}
    keep = None
    for port in current:
        if port.name == want_port and keep is None:
            keep = port
            continue
        changes.append(f"remove uplink port {port.name}")
        if txn is not None:
            bridge.delvalue("ports", port)
            port.delete()
    if want_port is not None:
        if keep is None:
            changes.append(f"add uplink port {want_port}")
            if txn is None:
                return changes
            keep = txn.insert(tables["Port"])
            keep.name = want_port
            keep.external_ids = uplink_marker
            bridge.addvalue("ports", keep)
        members = []
        for nic in spec.uplinks:
            iface = ifaces.get(nic)
            if iface is None:
                changes.append(f"add uplink {nic}")
                if txn is None:
                    continue
                iface = txn.insert(tables["Interface"])
                iface.name = nic
                iface.external_ids = uplink_marker
            members.append(iface)
            setcol(iface, "mtu_request", mtu, f"MTU {spec.mtu or 'default'} on {nic}")
        had = list(getattr(keep, "interfaces", []))
        gone = {i.name for i in had} - set(spec.uplinks)
        changes.extend(f"remove uplink {nic}" for nic in sorted(gone))
        if txn is not None and (gone or len(members) != len(had)):
            keep.interfaces = members
        bond = ["active-backup"] if len(spec.uplinks) > 1 else []
        setcol(keep, "bond_mode", bond, "bond mode active-backup" if bond else "no bond")
    # Interfaces of removed uplinks that no kept port references are dropped by OVSDB
    # (Interface rows are not root rows); delete them explicitly all the same.
    if txn is not None:
        wanted = set(spec.uplinks)
        for name, iface in ifaces.items():
            if name not in wanted:
                iface.delete()
    return changes
