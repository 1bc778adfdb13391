"""A userspace iSCSI target for the tests: ``tgtd`` on 127.0.0.1 (RUNTIME.md section 7).

``iscsi_target()`` starts a tgtd of its own (its own management socket, so it never
touches another test's or the host's tgtd) listening on 127.0.0.1:3260, or on a free port
when 3260 is taken, and stops it when done: tgtd ignores SIGTERM, so its targets are
deleted and the system deleted through tgtadm; only if it still runs after that is the
process (by the pid tgtd wrote) killed. ``Tgt.add_target`` makes a target with one LUN
backed by a sparse file, optionally with a CHAP account bound to it.

Needs the ``tgt`` package (``apt-get install --no-install-recommends tgt``); a missing
tgtd is an error, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

LUNS_ROOT = Path("/var/lib/cloudenv-test/iscsi")
CONTROL_DIR = Path("/var/run/tgtd")
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0


class TgtError(RuntimeError):
    """tgtd or tgtadm did not do what the test needs; the message says what."""


@dataclass(frozen=True)
class Target:
    tid: int
    iqn: str
    backing: Path  # the LUN's file on the host
    lun: int = 1


@dataclass
class Tgt:
    port: int
    control: int  # tgtd's management port: its socket is /var/run/tgtd/socket.<control>
    pid: int
    targets: list[Target] = field(default_factory=list)

    @property
    def portal(self) -> str:
        return f"127.0.0.1:{self.port}"

    def admin(self, *args: str) -> str:
        done = subprocess.run(
            ["tgtadm", "-C", str(self.control), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise TgtError(f"tgtadm {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def add_target(self, size: int = 64 * 1024**2, chap: tuple[str, str] | None = None) -> Target:
        """A target (IQN under iqn.2026-11.test.cloudenv) with LUN 1 on a new sparse file
        of ``size`` bytes, open to 127.0.0.1; with ``chap`` (user, password) only that
        account may log in."""
        tid = len(self.targets) + 1
        iqn = f"iqn.2026-11.test.cloudenv:{secrets.token_hex(4)}"
        LUNS_ROOT.mkdir(parents=True, exist_ok=True)
        backing = LUNS_ROOT / f"{iqn.rsplit(':', 1)[1]}.img"
        with backing.open("wb") as handle:
            handle.truncate(size)
        target = Target(tid, iqn, backing)
        self.targets.append(target)
        lld = ("--lld", "iscsi")
        self.admin(*lld, "--op", "new", "--mode", "target", "--tid", str(tid), "-T", iqn)
        self.admin(
            *lld, "--op", "new", "--mode", "logicalunit", "--tid", str(tid), "--lun", "1",
            "-b", str(backing),
        )  # fmt: skip
        self.admin(*lld, "--op", "bind", "--mode", "target", "--tid", str(tid), "-I", "127.0.0.1")
        if chap is not None:
            user, password = chap
            self.admin(
                *lld, "--op", "new", "--mode", "account", "--user", user, "--password", password
            )
            self.admin(*lld, "--op", "bind", "--mode", "account", "--tid", str(tid), "--user", user)
        return target


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _free_control() -> int:
    for _ in range(100):
        control = 1000 + secrets.randbelow(30000)
        if not (CONTROL_DIR / f"socket.{control}").exists():
            return control
    raise TgtError(f"no free tgtd management socket number in {CONTROL_DIR}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # PID 1 here reaps daemonized children a little later: a zombie counts as gone.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def _start(port: int, control: int, pid_file: Path) -> int | None:
    """tgtd on 127.0.0.1:port; its pid once it listens, None if it could not bind."""
    done = subprocess.run(
        ["tgtd", "--iscsi", f"portal=127.0.0.1:{port}", "-C", str(control), "-p", str(pid_file)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        raise TgtError(f"tgtd did not start: {done.stderr.strip()}")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if pid_file.exists() and pid_file.read_text().strip() and _listening(port):
            return int(pid_file.read_text().strip())
        time.sleep(0.1)
    if pid_file.exists() and pid_file.read_text().strip():
        _kill(int(pid_file.read_text().strip()))
    return None


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _stop(tgt: Tgt) -> None:
    """Delete every target (``--force``: sessions are dropped), then the system; tgtd exits
    once it has none. Killed by its pid only if it outlives that."""
    with contextlib.suppress(TgtError, subprocess.TimeoutExpired):
        for target in tgt.targets:
            tgt.admin(
                "--lld", "iscsi", "--op", "delete", "--mode", "target", "--tid",
                str(target.tid), "--force",
            )  # fmt: skip
        tgt.admin("--op", "update", "--mode", "sys", "--name", "State", "-v", "offline")
        tgt.admin("--op", "delete", "--mode", "system")
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(tgt.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(tgt.pid):
        _kill(tgt.pid)
    for leftover in (
        CONTROL_DIR / f"socket.{tgt.control}",
        CONTROL_DIR / f"socket.{tgt.control}.lock",
    ):
        leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def iscsi_target() -> Iterator[Tgt]:
    """A running tgtd of our own on 127.0.0.1 (port 3260 unless taken); stopped after."""
    if shutil.which("tgtd") is None or shutil.which("tgtadm") is None:
        raise TgtError("tgtd is not installed: apt-get install --no-install-recommends tgt")
    control = _free_control()
    pid_file = Path(f"/run/tgtd-cetest-{control}.pid")
    pid = None
    for port in (3260, _free_port(), _free_port()):
        if _listening(port):
            continue
        pid_file.unlink(missing_ok=True)
        pid = _start(port, control, pid_file)
        if pid is not None:
            break
    if pid is None:
        raise TgtError("tgtd never listened on 127.0.0.1 (tried 3260 and two free ports)")
    tgt = Tgt(port=port, control=control, pid=pid)
    try:
        yield tgt
    finally:
        _stop(tgt)
        pid_file.unlink(missing_ok=True)
        for target in tgt.targets:
            target.backing.unlink(missing_ok=True)
