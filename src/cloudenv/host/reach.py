"""Whether the hypervisor's user can reach a path: the probe behind refusing a data dir or
a pool directory that QEMU could not open files in.

libvirt runs QEMU as its own user (``libvirt-qemu`` on Debian, or ``user`` in
/etc/libvirt/qemu.conf). To open a disk, that user needs search (``x``) permission on every
directory above it; one ``0700`` directory on the way (a ``mktemp -d``, ``/root``) and every
deploy fails late with libvirt's "Cannot access storage file". This module finds that
directory from the modes, owners and the user's groups, read-only, so a caller can refuse
up front and say what to change. ACLs are not read (libvirt's own hosts don't use them).

Nothing here imports the rest of cloudenv.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
from dataclasses import dataclass
from pathlib import Path

QEMU_CONF = Path("/etc/libvirt/qemu.conf")
DEFAULT_QEMU_USER = "libvirt-qemu"
_stat = os.stat  # one seam for tests that fake the directories above theirs
_SETTING = re.compile(r'\s*(?P<key>user|group)\s*=\s*"(?P<value>[^"]*)"\s*(?:#.*)?')


@dataclass(frozen=True)
class Account:
    """A user as the kernel checks permissions for it: uid, primary and extra groups."""

    name: str
    uid: int
    gids: frozenset[int]


@dataclass(frozen=True)
class Blocked:
    """The first directory on the way that ``account`` can't search."""

    directory: Path
    mode: int  # permission bits, e.g. 0o700
    account: str
    who: str  # the chmod class that would fix it: "u", "g" or "o"

    @property
    def fix(self) -> str:
        """The command that lets the account through (and nobody else in more)."""
        return f"chmod {self.who}+x {self.directory}"

    def describe(self) -> str:
        return f"{self.directory} is mode {self.mode:04o}: {self.account} can't reach the pool"


def _by_id(value: str, table: str) -> int | None:
    """qemu.conf allows ``+64055`` for a numeric uid/gid."""
    if value.startswith("+") and value[1:].isdigit():
        return int(value[1:])
    try:
        return pwd.getpwnam(value).pw_uid if table == "user" else grp.getgrnam(value).gr_gid
    except KeyError:
        return None


def qemu_account(conf: Path = QEMU_CONF) -> Account:
    """The user QEMU runs as: ``user``/``group`` from qemu.conf when set, else libvirt-qemu.
    A user the system doesn't know is judged by the "other" bits only."""
    settings: dict[str, str] = {}
    try:
        text = conf.read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        found = _SETTING.fullmatch(line)
        if found:
            settings[found["key"]] = found["value"]
    name = settings.get("user", DEFAULT_QEMU_USER)
    uid = _by_id(name, "user")
    gids: set[int] = set()
    if uid is not None:
        try:
            entry = pwd.getpwuid(uid)
            gids.add(entry.pw_gid)
            gids.update(os.getgrouplist(entry.pw_name, entry.pw_gid))
        except KeyError:
            pass
    if "group" in settings:
        gid = _by_id(settings["group"], "group")
        if gid is not None:
            gids.add(gid)
    return Account(name, -1 if uid is None else uid, frozenset(gids))


def _searchable(info: os.stat_result, account: Account) -> tuple[bool, str]:
    """Whether ``account`` may search a directory with this stat, and the class it falls in
    (the kernel checks owner, then group, then other; the first that applies decides)."""
    if account.uid == 0:
        return True, "u"
    if info.st_uid == account.uid:
        return bool(info.st_mode & stat.S_IXUSR), "u"
    if info.st_gid in account.gids:
        return bool(info.st_mode & stat.S_IXGRP), "g"
    return bool(info.st_mode & stat.S_IXOTH), "o"


def blocking_directory(
    path: Path, account: Account, *, will_open: frozenset[Path] = frozenset()
) -> Blocked | None:
    """The first existing directory from ``/`` down to ``path`` that ``account`` can't
    search, or None. Parts of ``path`` that don't exist yet are created by the caller with
    modes it chooses, so they are not judged; nor is any directory in ``will_open``
    (the caller is about to give it a searchable mode itself)."""
    path = Path(os.path.abspath(path))
    for directory in (*reversed(path.parents), path):
        if directory in will_open:
            continue
        try:
            info = _stat(directory)
        except FileNotFoundError:
            return None
        if not stat.S_ISDIR(info.st_mode):
            return None  # the caller's own mkdir reports that
        allowed, who = _searchable(info, account)
        if not allowed:
            return Blocked(directory, stat.S_IMODE(info.st_mode), account.name, who)
    return None


__all__ = [
    "DEFAULT_QEMU_USER",
    "Account",
    "Blocked",
    "blocking_directory",
    "qemu_account",
]
