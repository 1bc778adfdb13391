"""Open vSwitch for the tests: started (or found running) by the project's own script, and a
small lab of network namespaces and veth pairs that stand in for NICs and for hosts.

Test code may use ovs-vsctl / ovs-appctl to look behind the driver and to make what the
driver must not touch (a bridge that isn't ours) or what libvirt would make (an instance's
port, emulated by a veth whose Interface carries ``external_ids:attached-mac`` as libvirt
sets it). The product never parses their output.

Names are short (Linux interface names are at most 15 characters) and unique per lab:
``c<4 hex><suffix>``. ``Lab.close`` removes everything the lab made, whatever happened.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.support.daemons import REPO_ROOT, run_start_script

START_SCRIPT = REPO_ROOT / "scripts" / "start-ovs.sh"
RUN_DIR = Path("/var/run/openvswitch")
#: How long a ping that must get through keeps trying (learning, ARP and a bond failover
#: take a moment; under load more): a bound on waiting, not an assertion on time.
REACH_SECONDS = 30
#: Labs (test processes using OVS) hold it shared; a test that restarts OVS takes it
#: exclusively, so it never pulls OVS away from under another worker's test.
LAB_LOCK = Path("/run/lock/cloudenv-ovs-tests.lock")
#: What scripts/start-ovs.sh holds while it starts the daemons and waits for them.
START_LOCK = Path("/run/lock/cloudenv-ovs.lock")


def ensure_ovs() -> None:
    """Make sure ovsdb-server and ovs-vswitchd run here; RuntimeError saying why not."""
    run_start_script(
        START_SCRIPT, logs="/var/log/openvswitch/", needs="root and openvswitch-switch"
    )


def stop_ovs() -> None:
    """Stop both daemons (as a crash or an upgrade would) and wait until they are gone.
    Under the start script's own lock: a start running meanwhile (another test's, a served
    node's) would otherwise see ovs-vswitchd running, then lose it while waiting for it
    to answer (CI: "ovs-vswitchd did not answer within 30 s"); it now starts them after."""
    START_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with START_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for daemon in ("ovs-vswitchd", "ovsdb-server"):
            pidfile = RUN_DIR / f"{daemon}.pid"
            pid = pidfile.read_text().strip() if pidfile.exists() else ""
            subprocess.run(["ovs-appctl", "-t", daemon, "exit"], capture_output=True, check=False)
            deadline = time.monotonic() + 30
            while pid and Path(f"/proc/{pid}").exists():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{daemon} (pid {pid}) did not exit")
                time.sleep(0.05)


def run(*argv: str, check: bool = True) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def vsctl(*args: str) -> str:
    # --retry: wait for the database rather than fail while OVS restarts.
    return run("ovs-vsctl", "--retry", "--timeout=30", *args)


def next_cfg() -> int:
    """Open_vSwitch's next_cfg: every OVS transaction of a client that waits for
    ovs-vswitchd (ovsdbapp's, ours) increments it, so equal values mean no transaction."""
    return int(vsctl("get", "Open_vSwitch", ".", "next_cfg"))


#: The Interface columns our driver writes; the others (statistics, link state) ovs-vswitchd
#: itself updates all the time, so the rows' versions would differ with nothing done.
_OWN_INTERFACE_COLUMNS = ["_uuid", "name", "type", "options", "external_ids", "mtu_request"]


def bridge_rows(bridge: str) -> list[object]:
    """What one bridge is made of in OVSDB: its row and its ports' rows with their versions
    (``_version`` changes on any write to a row) and its interfaces' own columns. Equal
    snapshots mean no client changed this bridge, whatever others did to theirs meanwhile
    (unlike ``next_cfg``, which every client's transaction bumps)."""
    [found] = _select("Bridge", [["name", "==", bridge]], ["_uuid", "_version", "ports"])
    port_ids = _uuids(found["ports"])
    ports = _select("Port", [], ["_uuid", "_version", "name", "interfaces"])
    ours = sorted((p for p in ports if p["_uuid"][1] in port_ids), key=lambda p: str(p["name"]))
    interface_ids = {i for p in ours for i in _uuids(p["interfaces"])}
    interfaces = _select("Interface", [], _OWN_INTERFACE_COLUMNS)
    return [
        found,
        ours,
        sorted(
            (i for i in interfaces if i["_uuid"][1] in interface_ids), key=lambda i: str(i["name"])
        ),
    ]


def _select(table: str, where: list[list[str]], columns: list[str]) -> list[dict[str, Any]]:
    query = ["Open_vSwitch", {"op": "select", "table": table, "where": where, "columns": columns}]
    [reply] = json.loads(run("ovsdb-client", "transact", json.dumps(query)))
    rows: list[dict[str, Any]] = reply["rows"]
    return rows


def _uuids(value: object) -> set[str]:
    """The UUIDs of an OVSDB set column as JSON gives it: ``["uuid", u]`` for one member,
    ``["set", [["uuid", u], ...]]`` for any other count."""
    assert isinstance(value, list)
    if value[0] == "uuid":
        return {value[1]}
    return {member[1] for member in value[1]}


def link_mac(name: str, netns: str) -> str:
    return str(json.loads(run("ip", "-n", netns, "-j", "link", "show", "dev", name))[0]["address"])


@dataclass
class Host:
    """A namespace with one interface (``inside``, address ``ip``) whose peer ``port`` is
    in the root namespace, ready to be joined to a bridge."""

    netns: str
    port: str
    inside: str
    mac: str
    ip: str


@dataclass
class Lab:
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:4])
    namespaces: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    bridges: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    _lock: IO[str] | None = None

    def __post_init__(self) -> None:
        LAB_LOCK.parent.mkdir(parents=True, exist_ok=True)
        self._lock = LAB_LOCK.open("a")
        fcntl.flock(self._lock, fcntl.LOCK_SH)

    @contextmanager
    def alone(self) -> Iterator[None]:
        """No other lab exists meanwhile (for stopping and restarting OVS)."""
        assert self._lock is not None
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_SH)

    def name(self, suffix: str) -> str:
        name = f"c{self.tag}{suffix}"
        assert len(name) <= 15, name
        assert name not in self.used, f"{name} is used twice in the lab"
        self.used.add(name)
        return name

    def bridge_name(self) -> str:
        """A vSwitch name (svswitchN) no other lab uses; recorded for removal."""
        name = f"svswitch{int(self.tag, 16) * 100 + len(self.bridges)}"
        self.bridges.append(name)
        return name

    def veth(self, suffix: str) -> tuple[str, str]:
        """A veth pair in the root namespace, both ends up: (``<suffix>``, ``<suffix>p``)."""
        a, b = self.name(suffix), self.name(f"{suffix}p")
        run("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        self.links.append(a)
        run("ip", "link", "set", a, "up")
        run("ip", "link", "set", b, "up")
        return a, b

    def host(self, suffix: str, ip: str) -> Host:
        netns = self.name(f"{suffix}n")
        run("ip", "netns", "add", netns)
        self.namespaces.append(netns)
        port, inside = self.name(suffix), self.name(f"{suffix}i")
        run("ip", "link", "add", port, "type", "veth", "peer", "name", inside)
        self.links.append(port)
        run("ip", "link", "set", inside, "netns", netns)
        run("ip", "-n", netns, "link", "set", "lo", "up")
        run("ip", "-n", netns, "link", "set", inside, "up")
        run("ip", "-n", netns, "addr", "add", ip, "dev", inside)
        run("ip", "link", "set", port, "up")
        return Host(netns, port, inside, link_mac(inside, netns), ip.split("/")[0])

    def plug(self, bridge: str, host: Host) -> None:
        """Join ``host`` to ``bridge`` as libvirt joins an instance's tap: a port named after
        the tap whose Interface records the guest's MAC (external_ids:attached-mac)."""
        vsctl(
            "add-port", bridge, host.port, "--", "set", "Interface", host.port,
            f'external_ids:attached-mac="{host.mac}"',
        )  # fmt: skip

    def foreign_bridge(self, *ports: str) -> str:
        """A bridge cloudenv didn't make (no ownership marker), with these ports."""
        name = self.name(f"x{len(self.bridges)}")
        self.bridges.append(name)
        vsctl("add-br", name, "--", "set", "Bridge", name, "datapath_type=netdev")
        for port in ports:
            vsctl("add-port", name, port)
        return name

    def reaches(self, src: Host, dst: Host) -> bool:
        """Whether ``src`` gets a ping reply from ``dst``, trying for up to REACH_SECONDS."""
        deadline = time.monotonic() + REACH_SECONDS
        while not self._ping(src, dst.ip, count=1):
            if time.monotonic() > deadline:
                return False
        return True

    def cut_off(self, src: Host, dst: Host) -> bool:
        """Whether three pings from ``src`` to ``dst`` all go unanswered."""
        return not self._ping(src, dst.ip, count=3)

    @staticmethod
    def _ping(src: Host, ip: str, count: int) -> bool:
        done = subprocess.run(
            ["ip", "netns", "exec", src.netns, "busybox", "ping", "-c", str(count), "-W", "1", ip],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        return done.returncode == 0

    def close(self) -> None:
        try:
            self._remove()
        finally:
            if self._lock is not None:
                self._lock.close()  # releases the lock
                self._lock = None

    def _remove(self) -> None:
        for bridge in self.bridges:
            run("ovs-vsctl", "--timeout=30", "--if-exists", "del-br", bridge, check=False)
        for link in self.links:
            if Path(f"/sys/class/net/{link}").exists():
                run("ip", "link", "del", link, check=False)
        for netns in self.namespaces:
            run("ip", "netns", "del", netns, check=False)

    def leftovers(self) -> list[str]:
        """What the lab made that still exists (empty after ``close``)."""
        bridges = set(vsctl("list-br").split())
        found = [b for b in self.bridges if b in bridges]
        found += [link for link in self.links if Path(f"/sys/class/net/{link}").exists()]
        names = {line.split()[0] for line in run("ip", "netns", "list").splitlines() if line}
        found += [n for n in self.namespaces if n in names]
        return found
