"""The decisions: what libvirt pool (and secret) a cloudenv ``PoolSpec`` becomes.

The element classes in ``libvirt_xml`` hold values only; every per-type rule lives here,
once, without talking to libvirt (the fake driver applies the same refusals):

- directory: ``dir`` at the target path, built (made) with mode 0711.
- netfs: NFS export or CIFS share mounted on the target path (built: the mount point is
  made). libvirt has no ``<auth>`` for netfs pools and mounts CIFS with ``-o guest``; a
  share's user name and password (and domain) go into a credentials file readable by root
  only (``<credentials dir>/<pool>.cred``, mode 0600, as mount.cifs reads it), and the
  pool's XML names only that file in its mount options (``credentials=<path>``), never the
  password. mount.cifs reads the file after libvirt's ``guest``, whose only effect there
  (before cifs-utils 7.3) is not to prompt for a password; ``node_probe`` refuses the
  cifs-utils releases that drop the password of a guest mount.
- iscsi: ``iscsi-direct`` (libvirt's userspace initiator, libiscsi: needs nothing from the
  kernel) when libvirt has that backend, else ``iscsi`` through the kernel initiator with
  the LUNs under /dev/disk/by-path. CHAP: the password goes into a libvirt secret of usage
  type ``iscsi``.
- lvm: ``logical`` on the existing volume group (default: the pool's name) — never built:
  building would run pvcreate/vgcreate; the group must exist (seed).
- rbd: the Ceph pool on its monitors; a key goes into a secret of usage type ``ceph``.
- zfs: the existing zpool (default: the pool's name) — never built (zpool create).

Secrets are found by usage id (``secret_usage_id(pool)``), so nothing about them needs
storing; their values never appear in the pool's XML or in a message.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field

from cloudenv.drivers.errors import InvalidInput, Unsupported
from cloudenv.drivers.storage.base import (
    DEFAULT_PORTS,
    PoolSpec,
    PoolType,
    secret_usage_id,
    split_host_port,
)
from cloudenv.drivers.storage.libvirt_xml import (
    AnyPool,
    DirPool,
    IscsiDirectPool,
    IscsiPool,
    LogicalPool,
    NetfsPool,
    PoolAuth,
    PoolHost,
    RbdPool,
    Secret,
    ZfsPool,
)

POOL_MODE = 0o711  # QEMU's user passes through to the disks it was given; nobody lists

#: Where CIFS credentials files live: one directory only root may enter, one file per pool
#: only root may read (mount runs as root, under libvirtd).
CREDENTIALS_DIR = "/etc/cloudenv/pool-credentials"
CREDENTIALS_DIR_MODE = 0o700
CREDENTIALS_MODE = 0o600
# A pool's id names its file and goes into mount's comma-separated option list: no
# separators, no hidden or relative names.
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# A line break would start another key in the file; NUL ends the value early in mount.cifs.
_LINE_BREAKS = ("\n", "\r", "\0")

#: The naming authority of the IQN a node logs in as when neither the pool nor the driver
#: names one.
INITIATOR_AUTHORITY = "iqn.2026-12.org.cloudenv"


@dataclass(frozen=True)
class SecretPlan:
    """A libvirt secret the pool needs, and the value to put in it (bytes as libvirt
    keeps them: the CHAP password's UTF-8, the Ceph key decoded from base64)."""

    secret: Secret
    value: bytes = field(repr=False)


@dataclass(frozen=True)
class CredentialsPlan:
    """The credentials file a CIFS pool's mount reads: where it goes (named in the pool's
    mount options) and what it holds (``username=``, ``password=``, ``domain=`` lines; never
    shown in a repr, a message or a log)."""

    path: str
    content: str = field(repr=False)


@dataclass(frozen=True)
class PoolDesign:
    pool: AnyPool
    secret: SecretPlan | None = None
    build: bool = False  # libvirt's build makes the directory / mount point
    credentials: CredentialsPlan | None = None

    @property
    def libvirt_type(self) -> str:
        return self.pool.pool_type


def _text(spec: PoolSpec, key: str, default: str = "") -> str:
    value = spec.config.get(key)
    if value is None or value == "":
        if default:
            return default
        raise InvalidInput(
            f"Storage pool {spec.name}: its {spec.type.name.lower()} configuration lacks '{key}'.",
            field=f"config.{key}",
        )
    return str(value)


def _absolute(spec: PoolSpec, path: str, key: str) -> str:
    if not path.startswith("/"):
        raise InvalidInput(
            f"Storage pool {spec.name}: the path {path!r} must be absolute.", field=f"config.{key}"
        )
    return os.path.normpath(path)


def credentials_path(pool: str, directory: str = CREDENTIALS_DIR) -> str:
    """Where the credentials file of ``pool`` lives (whether it has one or not)."""
    return os.path.join(directory, f"{pool}.cred")


def design_pool(
    spec: PoolSpec,
    *,
    iscsi_direct: bool = True,
    initiator: str = "",
    credentials_dir: str = CREDENTIALS_DIR,
) -> PoolDesign:
    """The pool (and secret or credentials file) for ``spec``. ``iscsi_direct``: libvirt
    here has the userspace iSCSI backend; ``initiator``: this node's IQN when the pool
    names none; ``credentials_dir``: where CIFS credentials files go. Settings that can't
    work: InvalidInput naming ``config.<key>``."""
    kind = spec.type
    if kind is PoolType.DIRECTORY:
        path = _absolute(spec, spec.path or _text(spec, "path"), "path")
        return PoolDesign(DirPool(spec.name, path, mode=POOL_MODE), build=True)
    if kind is PoolType.NETFS:
        return _netfs(spec, credentials_dir)
    if kind is PoolType.ISCSI:
        return _iscsi(spec, iscsi_direct, initiator)
    if kind is PoolType.LVM:
        group = _text(spec, "volume_group", spec.name)
        return PoolDesign(LogicalPool(spec.name, group, f"/dev/{group}"))
    if kind is PoolType.RBD:
        return _rbd(spec)
    if kind is PoolType.ZFS:
        return PoolDesign(ZfsPool(spec.name, _text(spec, "pool", spec.name)))
    raise Unsupported(f"Storage pool {spec.name}: unknown pool type {kind!r}.")


def _netfs(spec: PoolSpec, credentials_dir: str) -> PoolDesign:
    protocol = _text(spec, "protocol", "nfs")
    path = _absolute(spec, spec.path or _text(spec, "path"), "path")
    server = _text(spec, "server")
    export = _text(spec, "export")
    credentials = None
    if protocol == "nfs":
        export = _absolute(spec, export, "export")
    elif protocol == "cifs":
        export = export.strip("/")
        credentials = _cifs_credentials(spec, credentials_dir)
    else:
        raise InvalidInput(
            f"Storage pool {spec.name}: protocol {protocol!r} is neither nfs nor cifs.",
            field="config.protocol",
        )
    options = () if credentials is None else (f"credentials={credentials.path}",)
    pool = NetfsPool(spec.name, server, export, protocol, path, mount_options=options)
    return PoolDesign(pool, build=True, credentials=credentials)


def _cifs_credentials(spec: PoolSpec, directory: str) -> CredentialsPlan | None:
    """The credentials file of a CIFS share that needs a user (None: mounted as guest).
    Values are refused, never quoted, when they would break the file or mount's options."""
    values = {
        "username": str(spec.config.get("username") or ""),
        "password": str(spec.secrets.get("password") or ""),
        "domain": str(spec.config.get("domain") or ""),
    }
    if not any(values.values()):
        return None
    for key, value in values.items():
        if any(c in value for c in _LINE_BREAKS):
            raise InvalidInput(
                f"Storage pool {spec.name}: the CIFS {key} can't hold a line break or a NUL "
                "character.",
                field=f"config.{key}",
            )
    for key in ("username", "domain"):
        # mount.cifs hands these to the kernel unescaped in its comma-separated options.
        if "," in values[key]:
            raise InvalidInput(
                f"Storage pool {spec.name}: the CIFS {key} can't hold a comma.",
                field=f"config.{key}",
            )
    if not values["username"]:
        raise InvalidInput(
            f"Storage pool {spec.name}: a CIFS password or domain needs the user name it "
            "belongs to.",
            field="config.username",
        )
    if not _FILE_NAME.fullmatch(spec.name):
        raise InvalidInput(
            f"Storage pool {spec.name!r} can't name a credentials file: use letters, digits, "
            "'.', '_' and '-' only.",
            field="name",
        )
    content = "".join(f"{key}={value}\n" for key, value in values.items() if value)
    return CredentialsPlan(credentials_path(spec.name, directory), content)


def _iscsi(spec: PoolSpec, direct: bool, node_initiator: str) -> PoolDesign:
    host, port = split_host_port(_text(spec, "portal"), DEFAULT_PORTS[PoolType.ISCSI])
    hosts = (PoolHost(host, port),)
    target = _text(spec, "target")
    initiator = str(spec.config.get("initiator") or node_initiator)
    auth, secret = None, None
    username = spec.config.get("chap_username")
    password = spec.secrets.get("chap_secret")
    if bool(username) != bool(password):
        missing = "chap_secret" if username else "chap_username"
        raise InvalidInput(
            f"Storage pool {spec.name}: CHAP needs both a user name and a secret; "
            f"'{missing}' is missing.",
            field=f"config.{missing}",
        )
    if username and password:
        usage = secret_usage_id(spec.name)
        auth = PoolAuth("chap", str(username), secret_usage=usage)
        secret = SecretPlan(
            Secret("iscsi", usage, f"CHAP secret of cloudenv storage pool {spec.name}"),
            password.encode(),
        )
    if direct:
        if not initiator:
            raise InvalidInput(
                f"Storage pool {spec.name}: an iSCSI pool needs the initiator IQN this node "
                "logs in as.",
                field="config.initiator",
            )
        return PoolDesign(IscsiDirectPool(spec.name, hosts, target, initiator, auth), secret)
    return PoolDesign(IscsiPool(spec.name, hosts, target, initiator or None, auth), secret)


def _rbd(spec: PoolSpec) -> PoolDesign:
    monitors = spec.config.get("monitors") or []
    if isinstance(monitors, str):
        monitors = [monitors]
    if not monitors:
        raise InvalidInput(
            f"Storage pool {spec.name}: an rbd pool needs the Ceph monitors.",
            field="config.monitors",
        )
    hosts = tuple(PoolHost(*split_host_port(str(m), None)) for m in monitors)
    ceph_pool = _text(spec, "pool")
    key = spec.secrets.get("key")
    if not key:
        return PoolDesign(RbdPool(spec.name, ceph_pool, hosts))
    user = _text(spec, "user", "admin")
    try:
        value = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            f"Storage pool {spec.name}: the Ceph key must be base64, as `ceph auth get-key` "
            "prints it.",
            field="config.key",
        ) from None
    usage = secret_usage_id(spec.name)
    return PoolDesign(
        RbdPool(spec.name, ceph_pool, hosts, PoolAuth("ceph", user, secret_usage=usage)),
        SecretPlan(Secret("ceph", usage, f"Ceph key of cloudenv storage pool {spec.name}"), value),
    )


def node_initiator(hostname: str, initiator_file: str = "/etc/iscsi/initiatorname.iscsi") -> str:
    """This node's IQN: open-iscsi's (``InitiatorName=`` in its file) when it has one, else
    one derived from the host name under INITIATOR_AUTHORITY."""
    try:
        with open(initiator_file, encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.strip().partition("=")
                if key == "InitiatorName" and value.strip():
                    return value.strip()
    except OSError:
        pass
    safe = "".join(c if c.isalnum() or c in ".-" else "-" for c in hostname.lower()) or "node"
    return f"{INITIATOR_AUTHORITY}:{safe}"


def same_definition(have: AnyPool, wanted: AnyPool) -> bool:
    """Whether a pool libvirt already has is the one ``wanted`` describes (a directory
    pool's mode is ours to fix, not part of its identity)."""
    if isinstance(have, DirPool) and isinstance(wanted, DirPool):
        return have.pool_type == wanted.pool_type and os.path.normpath(have.path) == wanted.path
    return have == wanted


def describe(pool: AnyPool) -> str:
    """Where a pool is, for messages: its path, volume group, target or Ceph pool."""
    if isinstance(pool, DirPool | NetfsPool):
        return f"at {pool.path}"
    if isinstance(pool, LogicalPool):
        return f"on volume group {pool.volume_group}"
    if isinstance(pool, IscsiDirectPool | IscsiPool):
        return f"on target {pool.target}"
    if isinstance(pool, RbdPool):
        return f"on Ceph pool {pool.ceph_pool}"
    return f"on zfs pool {pool.zpool}"


__all__ = [
    "CREDENTIALS_DIR",
    "CREDENTIALS_DIR_MODE",
    "CREDENTIALS_MODE",
    "INITIATOR_AUTHORITY",
    "POOL_MODE",
    "CredentialsPlan",
    "PoolDesign",
    "SecretPlan",
    "credentials_path",
    "describe",
    "design_pool",
    "node_initiator",
    "same_definition",
]
