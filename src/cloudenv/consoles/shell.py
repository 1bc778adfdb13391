"""Login shells on this node, for the node's Console tab: the user's login shell as their
Linux user on a pseudo-terminal, sized as the browser's terminal, and nothing of it left
running once the WebSocket is gone.

The shell is started without a shell string: ``setsid --ctty runuser -l <name>`` as an
argument list. ``setsid`` gives it a session of its own with the PTY as controlling
terminal (so Ctrl-C, job control and hang-ups work as on a console); ``runuser -l``
(util-linux, root only) changes to the Linux user through PAM (groups, limits, a login
environment) and starts its login shell. No ``preexec_fn``: forking a threaded server and
running Python in the child before ``exec`` can deadlock.

Ending a shell ends its whole session, not only the processes we started: an interactive
shell moves itself and each job into process groups of their own, so one ``killpg``
would miss them. Every process group of the session gets SIGHUP (what a terminal hang-up
sends), and whatever is still there after a grace period gets SIGKILL. A process that left
the session on purpose (``setsid``) is beyond this, as it would be after an SSH logout.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pwd
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio

from cloudenv.consoles.bridges import TerminalSize
from cloudenv.errors import Conflict, DriverError, Forbidden, TooManyRequests

#: Where ``setsid`` and ``runuser`` are looked for; the daemon's own PATH is not passed on.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Login shells that refuse logins (service accounts).
NO_LOGIN_SHELLS = frozenset({"nologin", "false"})
#: Open shells per user on one node; each is a login session with its own processes.
MAX_SHELLS_PER_USER = 4
#: Seconds between the hang-up and the kill of what ignored it.
HANGUP_GRACE = 2.0
DEFAULT_SIZE = TerminalSize(rows=24, cols=80)
READ_CHUNK = 65536


@dataclass(frozen=True)
class Account:
    """A Linux user of this node, as its shell will run."""

    name: str
    uid: int
    shell: str


def find_account(name: str, *, may_be_root: bool, node: str) -> Account:
    """The Linux user ``name`` on this node, or the error that says why no shell can run
        as it: missing, a superuser for someone who may not be root, or no login shell. The
    messages fit a WebSocket close reason (123 bytes) for names of ordinary length."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise Conflict(
            f"Linux user {name} does not exist on node {node}; an administrator must create "
            "it or set another."
        ) from None
    if entry.pw_uid == 0 and not may_be_root:
        raise Forbidden(
            f"Linux user {name} is uid 0 (root) on node {node}; only the root organization's "
            "users may open root shells."
        )
    if Path(entry.pw_shell or "/bin/sh").name in NO_LOGIN_SHELLS:
        raise Conflict(
            f"Linux user {name} can't log in on node {node} (its shell is {entry.pw_shell}); "
            "an administrator must fix that."
        )
    return Account(name=entry.pw_name, uid=entry.pw_uid, shell=entry.pw_shell)


class ShellSlots:
    """At most ``limit`` open shells per user on this node, counted across the daemon's
    worker processes: each open shell holds an exclusive lock on one of the user's
    ``limit`` slot files. The kernel drops a lock when its holder closes it or dies, so a
    crashed worker can't leave a slot taken."""

    def __init__(self, directory: Path, limit: int = MAX_SHELLS_PER_USER) -> None:
        self.directory = directory
        self.limit = limit

    @contextlib.contextmanager
    def take(self, user_id: str, username: str) -> Iterator[None]:
        """Hold one of ``user_id``'s slots while the block runs, or TooManyRequests."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for slot in range(self.limit):
            path = self.directory / f"{user_id}.{slot}.lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield
            finally:
                os.close(fd)  # releases the lock
            return
        raise TooManyRequests(
            f"{username} already has {self.limit} shells open on this node; close one "
            "(exit) before opening another."
        )


class Shell:
    """A login shell on a PTY, in a session of its own; the PTY end the bridge uses."""

    def __init__(self, process: subprocess.Popen[bytes], master: int) -> None:
        self.process = process
        self.master = master

    @property
    def pid(self) -> int:
        """The session's leader; its session ID is the same number."""
        return self.process.pid

    @classmethod
    def start(cls, account: Account, size: TerminalSize = DEFAULT_SIZE) -> Shell:
        master, slave = os.openpty()
        try:
            _set_size(master, size)
            process = subprocess.Popen(  # an argument list; the name is checked
                ["setsid", "--ctty", "runuser", "-l", account.name],
                stdin=slave,
                stdout=slave,
                stderr=slave,
                close_fds=True,
                cwd="/",
                env={"PATH": SYSTEM_PATH, "TERM": "xterm-256color", "LANG": "C.UTF-8"},
            )
        except OSError as exc:
            os.close(master)
            raise DriverError(f"Can't start a shell as {account.name}: {exc}.") from None
        finally:
            os.close(slave)  # the shell holds its own; ours would keep the PTY from hanging up
        os.set_blocking(master, False)
        return cls(process, master)

    async def read(self) -> bytes:
        while True:
            await anyio.wait_readable(self.master)
            try:
                return os.read(self.master, READ_CHUNK)
            except BlockingIOError:
                continue
            except OSError as exc:
                if exc.errno == errno.EIO:  # every process let go of the terminal
                    return b""
                raise

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.master, view) :]
            except BlockingIOError:  # the shell is not reading: wait, as a terminal would
                await anyio.wait_writable(self.master)

    def resize(self, size: TerminalSize) -> None:
        """The kernel tells the shell's foreground job (SIGWINCH)."""
        with contextlib.suppress(OSError):
            _set_size(self.master, size)

    def end(self) -> int | None:
        """End every process of the shell's session (hang-up, then kill), close the PTY,
        reap the leader. Blocks up to HANGUP_GRACE and a little more: call it in a
        worker thread. Returns the leader's exit status (None if it could not be reaped)."""
        _signal_groups(self.pid, signal.SIGHUP)
        _signal_groups(self.pid, signal.SIGCONT)  # a stopped job sees its hang-up only running
        with contextlib.suppress(OSError):
            os.close(self.master)  # the terminal hangs up: its readers see end of file
        deadline = time.monotonic() + HANGUP_GRACE
        while session_members(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in session_members(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            return self.process.wait(timeout=HANGUP_GRACE)
        except subprocess.TimeoutExpired:
            return None


def session_members(session_id: int) -> dict[int, int]:
    """The live processes of session ``session_id``: pid → process group. Zombies are
    left out: they run nothing and only wait for their parent to reap them."""
    members: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # it ended while we looked
            continue
        # pid (comm) state ppid pgrp session ...; comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == session_id and fields[0] not in ("Z", "X"):
            members[int(entry.name)] = int(fields[2])
    return members


def _signal_groups(session_id: int, signum: int) -> None:
    for group in set(session_members(session_id).values()):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signum)


def _set_size(fd: int, size: TerminalSize) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size.rows, size.cols, 0, 0))
