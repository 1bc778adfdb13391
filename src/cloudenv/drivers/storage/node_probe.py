"""What a node lacks for a pool type, told before anything is defined, in words a person
can act on ("volume group vg0 not found (vgs lists none; create it with vgcreate or choose
another)").

libvirt itself says which storage backends it has (``virConnectGetStoragePoolCapabilities``);
the tools its backends run (mount.nfs, mount.cifs, vgs, zpool) and the things that must
already exist (a volume group, a zpool) are looked up here. Tools are looked for where
libvirtd finds them (its PATH plus the sbin directories), and run with a timeout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cloudenv.drivers.storage.base import PoolSpec, PoolType
from cloudenv.drivers.storage.libvirt_xml import LogicalPool, ZfsPool
from cloudenv.drivers.storage.pool_design import PoolDesign

_SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"]
)
PROBE_TIMEOUT = 30.0

#: The first cifs-utils release whose mount.cifs passes no password with ``guest``.
GUEST_DROPS_PASSWORD = (7, 3)
_CIFS_VERSION = re.compile(r"version:\s*(\d+)\.(\d+)")

#: The Debian package that brings libvirt each storage backend (the others ship with
#: libvirt-daemon).
BACKEND_PACKAGES = {
    "rbd": "libvirt-daemon-driver-storage-rbd",
    "zfs": "libvirt-daemon-driver-storage-zfs",
    "iscsi-direct": "libvirt-daemon-driver-storage-iscsi-direct",
    "gluster": "libvirt-daemon-driver-storage-gluster",
}


def supported_backends(capabilities_xml: str) -> frozenset[str]:
    """The pool types libvirt reports ``supported='yes'`` in its storage pool
    capabilities."""
    root = ET.fromstring(capabilities_xml)  # noqa: S314 - libvirtd's own output
    return frozenset(
        str(pool.get("type")) for pool in root.findall("pool") if pool.get("supported") == "yes"
    )


def missing_backend(libvirt_type: str) -> str:
    package = BACKEND_PACKAGES.get(libvirt_type, "libvirt-daemon")
    return f"libvirt has no {libvirt_type} storage backend (install {package})"


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def _run(argv: Sequence[str]) -> Run:
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return Run(-1, "", f"{argv[0]} did not answer within {PROBE_TIMEOUT:.0f} s")
    return Run(done.returncode, done.stdout, done.stderr)


class NodeProbe:
    """Looks for tools and runs them; tests pass their own ``which`` and ``run``."""

    def __init__(
        self,
        which: Callable[[str], str | None] | None = None,
        run: Callable[[Sequence[str]], Run] | None = None,
        exists: Callable[[str], bool] | None = None,
    ) -> None:
        self.which = which or (lambda tool: shutil.which(tool, path=_SEARCH_PATH))
        self.run = run or _run
        self.exists = exists or os.path.exists

    def lacking(self, spec: PoolSpec, design: PoolDesign, backends: frozenset[str]) -> list[str]:
        """Every missing piece for ``design`` on this node, most basic first; [] when
        nothing is known to be missing (the start may still fail: libvirt then says why)."""
        missing = []
        if design.libvirt_type not in backends:
            missing.append(missing_backend(design.libvirt_type))
        if spec.type is PoolType.NETFS:
            protocol = str(spec.config.get("protocol") or "nfs")
            missing += self._mount_helper(protocol, design.credentials is not None)
        elif isinstance(design.pool, LogicalPool):
            missing += self._volume_group(design.pool.volume_group)
        elif isinstance(design.pool, ZfsPool):
            missing += self._zpool(design.pool.zpool)
        elif design.libvirt_type == "iscsi" and self.which("iscsiadm") is None:
            missing.append(
                "no iSCSI initiator: iscsiadm is missing for the kernel initiator (apt-get "
                "install open-iscsi) and libvirt has no iscsi-direct backend (install "
                f"{BACKEND_PACKAGES['iscsi-direct']})"
            )
        return missing

    def _mount_helper(self, protocol: str, credentials: bool = False) -> list[str]:
        helper, package = (
            ("mount.cifs", "cifs-utils")
            if protocol == "cifs"
            else (
                "mount.nfs",
                "nfs-common",
            )
        )
        found = self.which(helper)
        if found is None:
            return [
                f"no {protocol.upper()} client: {helper} is missing (apt-get install {package})"
            ]
        if credentials:
            return self._cifs_takes_credentials(found)
        return []

    def _cifs_takes_credentials(self, mount_cifs: str) -> list[str]:
        """libvirt mounts every CIFS pool with ``-o guest``. Up to cifs-utils 7.2 that only
        spares the password prompt, and the credentials file read after it still logs in;
        from 7.3 on, mount.cifs never hands the kernel a password while ``guest`` is
        given, so the share's password would be silently dropped. An unreadable version
        is not refused (the mount then says what went wrong)."""
        done = self.run([mount_cifs, "-V"])
        version = _CIFS_VERSION.search(done.stdout + done.stderr)
        if version is None:
            return []
        major, minor = int(version.group(1)), int(version.group(2))
        if (major, minor) < GUEST_DROPS_PASSWORD:
            return []
        return [
            f"mount.cifs {major}.{minor} drops the password of a guest mount (cifs-utils 7.3 "
            "and later), and libvirt mounts every CIFS pool as guest, so this share's user "
            "name and password can't be used here (install cifs-utils older than 7.3, open "
            "the share to guests, or use NFS)"
        ]

    def _listed(self, argv: Sequence[str]) -> tuple[list[str], str]:
        done = self.run(argv)
        if done.returncode != 0:
            return [], (done.stderr.strip() or f"exit status {done.returncode}")
        return [line.strip() for line in done.stdout.splitlines() if line.strip()], ""

    def _volume_group(self, group: str) -> list[str]:
        vgs = self.which("vgs")
        if vgs is None:
            return [
                f"no LVM tools: vgs is missing (apt-get install lvm2), so volume group "
                f"{group} can't be used"
            ]
        groups, failed = self._listed([vgs, "--noheadings", "-o", "vg_name"])
        if failed:
            return [f"volume group {group} can't be listed: vgs failed: {failed}"]
        if group not in groups:
            return [
                f"volume group {group} not found (vgs lists {', '.join(groups) or 'none'}; "
                "create it with vgcreate or choose another)"
            ]
        if not self.exists("/dev/mapper/control"):
            return [
                "no device-mapper (/dev/mapper/control is missing; load the dm_mod kernel "
                "module), so logical volumes can't be activated"
            ]
        return []

    def _zpool(self, zpool: str) -> list[str]:
        tool = self.which("zpool")
        if tool is None:
            return [
                f"no ZFS tools: zpool is missing (apt-get install zfsutils-linux), so zfs pool "
                f"{zpool} can't be used"
            ]
        pools, failed = self._listed([tool, "list", "-H", "-o", "name"])
        if failed:
            return [f"zfs pool {zpool} can't be listed: zpool failed: {failed}"]
        if zpool not in pools:
            return [
                f"zfs pool {zpool} not found (zpool lists {', '.join(pools) or 'none'}; "
                "create it with zpool create or choose another)"
            ]
        return []


__all__ = [
    "BACKEND_PACKAGES",
    "GUEST_DROPS_PASSWORD",
    "NodeProbe",
    "Run",
    "missing_backend",
    "supported_backends",
]
