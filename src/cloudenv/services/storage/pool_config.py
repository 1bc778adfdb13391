"""Each storage pool type's settings: what a client may send in ``config``, checked and
normalised once here, with the write-only ones (passwords, CHAP secrets, Ceph keys) split
out into ``secrets``. What this module returns is what ``StoragePool.config`` and
``StoragePool.secrets`` store and what a node's driver receives in ``PoolSpec`` (the keys
are the contract between the pools service and the storage driver):

    directory  config {path}
    netfs      config {protocol: nfs|cifs, server, export, path, username?, domain?}
               secrets {password?}
    iscsi      config {portal: "host:port", target, initiator?, chap_username?}
               secrets {chap_secret?}
    lvm        config {volume_group}            (default: the pool's name)
    rbd        config {monitors: ["host:port"...], pool, user}  secrets {key?}
    zfs        config {pool}                    (default: the pool's name)

Every refusal is InvalidInput naming the field as the client wrote it (``config.portal``,
``config.monitors[1]``). Secrets are never echoed in a message. This module decides no
cluster-wide rule (a target path overlapping another pool's is ``pools``' business); it
only says where a pool's files live (``target_path``) and when two such places overlap.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cloudenv.enums import PoolType
from cloudenv.errors import InvalidInput
from cloudenv.services.validation import (
    CEPH_NAME,
    VOLUME_GROUP_NAME,
    ZFS_POOL_NAME,
    NameRule,
)

#: Where iSCSI portals, Ceph monitors listen unless told otherwise.
ISCSI_PORT = 3260
CEPH_MONITOR_PORT = 6789
#: Longest path or free text kept (the columns and libvirt take more; nobody needs more).
PATH_MAX = 1024
TEXT_MAX = 255
#: RFC 3720 §3.2.6.1: an iSCSI name is at most 223 bytes.
IQN_MAX = 223
MONITORS_MAX = 16
#: The naming authority of the initiator names nodes give themselves by default.
INITIATOR_AUTHORITY = "iqn.2026-12.org.cloudenv"

#: The settings each type keeps write-only: stored apart, never rendered or logged.
SECRET_KEYS: dict[PoolType, frozenset[str]] = {
    PoolType.DIRECTORY: frozenset(),
    PoolType.NETFS: frozenset({"password"}),
    PoolType.ISCSI: frozenset({"chap_secret"}),
    PoolType.LVM: frozenset(),
    PoolType.RBD: frozenset({"key"}),
    PoolType.ZFS: frozenset(),
}
#: Every key each type takes (secrets included), for the "not a setting of" refusal.
KEYS: dict[PoolType, frozenset[str]] = {
    PoolType.DIRECTORY: frozenset({"path"}),
    PoolType.NETFS: frozenset(
        {"protocol", "server", "export", "path", "username", "domain", "password"}
    ),
    PoolType.ISCSI: frozenset({"portal", "target", "initiator", "chap_username", "chap_secret"}),
    PoolType.LVM: frozenset({"volume_group"}),
    PoolType.RBD: frozenset({"monitors", "pool", "user", "key"}),
    PoolType.ZFS: frozenset({"pool"}),
}
#: Types whose volumes are files under a target path on the node.
FILE_TYPES = frozenset({PoolType.DIRECTORY, PoolType.NETFS})

# RFC 3720 §3.2.6.3: iqn.<yyyy-mm>.<reversed domain>[:<unique name>], eui.<16 hex>,
# naa.<16 or 32 hex>; names are compared lower-case (RFC 3722), so they are kept so.
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_IQN = re.compile(
    rf"iqn\.[0-9]{{4}}-(?:0[1-9]|1[0-2])\.{_LABEL}(?:\.{_LABEL})*(?::[a-z0-9.:-]+)?"
    r"|eui\.[0-9a-f]{16}|naa\.(?:[0-9a-f]{16}|[0-9a-f]{32})"
)
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


@dataclass(frozen=True)
class PoolConfig:
    """A type's settings as stored: ``config`` is shown to readers, ``secrets`` never."""

    config: dict[str, Any]
    secrets: dict[str, str]


def pool_type(value: int, *, field: str = "type") -> PoolType:
    try:
        return PoolType(value)
    except ValueError:
        kinds = ", ".join(f"{t.value} {t.name.lower()}" for t in PoolType)
        raise InvalidInput(
            f"Storage pool type {value} is not known; use one of {kinds}.", field=field
        ) from None


def check_config(kind: PoolType, raw: Mapping[str, Any], *, pool_name: str) -> PoolConfig:
    """``raw`` (the request's ``config``) checked for pool type ``kind``: unknown keys
    refused, defaults filled in (an LVM volume group or ZFS pool named after the pool, the
    iSCSI and Ceph ports), paths normalised, secrets split out."""
    if not isinstance(raw, Mapping):
        raise InvalidInput("'config' must be an object of the pool type's settings.", "config")
    unknown = sorted(set(raw) - KEYS[kind])
    if unknown:
        takes = ", ".join(sorted(KEYS[kind]))
        raise InvalidInput(
            f"'{unknown[0]}' is not a setting of {kind.name.lower()} pools; they take {takes}.",
            field=f"config.{unknown[0]}",
        )
    checker = _CHECKERS[kind]
    config, secrets = checker(_Reader(raw), pool_name)
    return PoolConfig(config, secrets)


def target_path(kind: PoolType, config: Mapping[str, Any]) -> str:
    """Where a file pool's volumes live on each node ("" for block pools)."""
    return str(config.get("path", "")) if kind in FILE_TYPES else ""


def paths_overlap(a: str, b: str) -> bool:
    """Whether two normalised absolute paths are the same or one lies inside the other."""
    a, b = a.rstrip("/"), b.rstrip("/")
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def default_initiator(node_id: str) -> str:
    """The IQN a node uses as an iSCSI initiator unless the pool names one: derived from
    its ID (lower-cased, '_' as '.', the characters an IQN takes)."""
    return f"{INITIATOR_AUTHORITY}:{node_id.lower().replace('_', '.')}"


# Reading one setting ---------------------------------------------------------------------


class _Reader:
    """Typed access to the request's settings, refusals naming ``config.<key>``."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def text(self, key: str, *, required: bool = True, default: str = "") -> str:
        field = f"config.{key}"
        value = self.raw.get(key)
        if value is None or value == "":
            if required and not default:
                raise InvalidInput(f"'{field}' is required for this pool type.", field=field)
            return default
        if not isinstance(value, str):
            raise InvalidInput(f"'{field}' must be a string.", field=field)
        if len(value) > PATH_MAX or not value.isprintable() or value != value.strip():
            raise InvalidInput(
                f"'{field}' must be at most {PATH_MAX} printable characters without leading "
                "or trailing blanks.",
                field=field,
            )
        return value

    def secret(self, key: str) -> str | None:
        """A write-only setting: its value never appears in a message."""
        field = f"config.{key}"
        value = self.raw.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str) or len(value) > TEXT_MAX or not value.isprintable():
            raise InvalidInput(
                f"'{field}' must be a string of at most {TEXT_MAX} printable characters.",
                field=field,
            )
        return value


def _absolute(value: str, field: str) -> str:
    if not value.startswith("/"):
        raise InvalidInput(
            f"'{field}' must be an absolute path (starting with /), not {value!r}.", field=field
        )
    normal = posixpath.normpath(value)
    if normal.startswith("//"):  # POSIX keeps a leading "//"; it is the same as "/"
        normal = "/" + normal.lstrip("/")
    if normal == "/":
        raise InvalidInput(
            f"'{field}' can't be the root directory; choose a directory of its own for the "
            "pool, such as /var/lib/cloudenv/pools/fast.",
            field=field,
        )
    return normal


def _host(value: str, field: str) -> str:
    """A host name (RFC 1123) or an IP address, as written."""
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise InvalidInput(
            f"'{field}' must be a host name or an IP address, not {value!r}.", field=field
        )
    return value


def _host_port(value: str, field: str, default_port: int) -> str:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port``, kept as ``host:port`` with the
    port made explicit (IPv6 addresses in brackets)."""
    bracketed = value.startswith("[")
    if bracketed:
        close = value.find("]")
        rest = value[close + 1 :] if close > 0 else "?"
        if close < 0 or (rest and not rest.startswith(":")):
            raise InvalidInput(
                f"'{field}' must be host[:port] (an IPv6 address in brackets: [fd00::5]:3260), "
                f"not {value!r}.",
                field=field,
            )
        host, has_port, port_text = value[1:close], bool(rest), rest[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise InvalidInput(
                f"'{field}': {host!r} in brackets is not an IPv6 address.", field=field
            ) from None
    elif value.count(":") > 1:
        raise InvalidInput(
            f"'{field}' must be host[:port]; write an IPv6 address in brackets "
            f"([{value}]:{default_port}).",
            field=field,
        )
    else:
        host, has_port, port_text = value.partition(":")[0], ":" in value, value.partition(":")[2]
        _host(host, field)
    port = default_port
    if has_port:
        if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
            raise InvalidInput(
                f"'{field}': the port {port_text!r} must be a number from 1 to 65535.",
                field=field,
            )
        port = int(port_text)
    return f"[{host}]:{port}" if bracketed else f"{host}:{port}"


def _iqn(value: str, field: str) -> str:
    name = value.lower()
    if len(name.encode()) > IQN_MAX or not _IQN.fullmatch(name):
        raise InvalidInput(
            f"'{field}' must be an iSCSI name (RFC 3720): iqn.<yyyy-mm>.<reversed domain>"
            "[:<name>] such as iqn.2003-01.org.example:disk1, or eui.<16 hex digits>, or "
            f"naa.<16 or 32 hex digits>; {value[:60]!r} is not.",
            field=field,
        )
    return name


def _named(rule: NameRule, value: str, field: str) -> str:
    return rule.check(value, field=field)


# Per type ---------------------------------------------------------------------------------

Checked = tuple[dict[str, Any], dict[str, str]]


def _directory(r: _Reader, _name: str) -> Checked:
    return {"path": _absolute(r.text("path"), "config.path")}, {}


def _netfs(r: _Reader, _name: str) -> Checked:
    protocol = r.text("protocol", default="nfs")
    if protocol not in ("nfs", "cifs"):
        raise InvalidInput(
            f"'config.protocol' must be nfs or cifs, not {protocol!r}.", field="config.protocol"
        )
    config: dict[str, Any] = {
        "protocol": protocol,
        "server": _host(r.text("server"), "config.server"),
    }
    export = r.text("export")
    if protocol == "nfs":
        config["export"] = _absolute(export, "config.export")
    else:
        if "/" in export or "\\" in export or len(export) > 80:
            raise InvalidInput(
                "'config.export' of a CIFS pool is the share's name (at most 80 characters, "
                f"no slashes), not {export[:60]!r}.",
                field="config.export",
            )
        config["export"] = export
    config["path"] = _absolute(r.text("path"), "config.path")
    # A CIFS share's login: written on each node into a credentials file only root reads.
    username = r.text("username", required=False)
    domain = r.text("domain", required=False)
    password = r.secret("password")
    if protocol == "nfs" and (username or domain or password):
        field = "config.username" if username else "config.domain" if domain else "config.password"
        raise InvalidInput(
            "NFS pools take no user name, domain or password (the export's host rules decide "
            "who mounts it); leave them out, or use protocol cifs.",
            field=field,
        )
    if (password or domain) and not username:
        raise InvalidInput(
            "A CIFS password or domain needs the user it belongs to: set config.username too.",
            field="config.username",
        )
    for key, value in (("username", username), ("domain", domain)):
        if not value:
            continue
        if len(value) > TEXT_MAX or any(c in value for c in " ,\\"):
            raise InvalidInput(
                f"'config.{key}' must be at most {TEXT_MAX} characters without spaces, "
                "commas or backslashes.",
                field=f"config.{key}",
            )
        config[key] = value
    return config, ({"password": password} if password else {})


def _iscsi(r: _Reader, _name: str) -> Checked:
    config: dict[str, Any] = {
        "portal": _host_port(r.text("portal"), "config.portal", ISCSI_PORT),
        "target": _iqn(r.text("target"), "config.target"),
    }
    initiator = r.text("initiator", required=False)
    if initiator:
        config["initiator"] = _iqn(initiator, "config.initiator")
    username = r.text("chap_username", required=False)
    secret = r.secret("chap_secret")
    if bool(username) != bool(secret):
        missing = "config.chap_secret" if username else "config.chap_username"
        raise InvalidInput(
            "CHAP needs both a user name and a secret: set config.chap_username and "
            "config.chap_secret, or neither.",
            field=missing,
        )
    if username:
        if len(username) > TEXT_MAX or " " in username:
            raise InvalidInput(
                f"'config.chap_username' must be at most {TEXT_MAX} characters without spaces.",
                field="config.chap_username",
            )
        config["chap_username"] = username
    return config, ({"chap_secret": secret} if secret else {})


def _lvm(r: _Reader, name: str) -> Checked:
    group = r.text("volume_group", required=False) or name
    return {"volume_group": _named(VOLUME_GROUP_NAME, group, "config.volume_group")}, {}


def _zfs(r: _Reader, name: str) -> Checked:
    pool = r.text("pool", required=False) or name
    return {"pool": _named(ZFS_POOL_NAME, pool, "config.pool")}, {}


def _rbd(r: _Reader, _name: str) -> Checked:
    monitors = r.raw.get("monitors")
    if isinstance(monitors, str):
        monitors = [monitors]
    if not isinstance(monitors, list) or not monitors:
        raise InvalidInput(
            "'config.monitors' must list the Ceph monitors, e.g. [\"10.0.0.1:6789\"].",
            field="config.monitors",
        )
    if len(monitors) > MONITORS_MAX:
        raise InvalidInput(
            f"'config.monitors' lists {len(monitors)} monitors; give at most {MONITORS_MAX}.",
            field="config.monitors",
        )
    checked = []
    for index, monitor in enumerate(monitors):
        field = f"config.monitors[{index}]"
        if not isinstance(monitor, str) or not monitor:
            raise InvalidInput(f"'{field}' must be a string host[:port].", field=field)
        checked.append(_host_port(monitor, field, CEPH_MONITOR_PORT))
    config: dict[str, Any] = {
        "monitors": checked,
        "pool": _named(CEPH_NAME, r.text("pool"), "config.pool"),
        "user": _named(CEPH_NAME, r.text("user", default="admin"), "config.user"),
    }
    key = r.secret("key")
    if key is not None:
        try:
            base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(
                "'config.key' must be the Ceph user's key as `ceph auth get-key` prints it "
                "(base64).",
                field="config.key",
            ) from None
    return config, ({"key": key} if key else {})


_CHECKERS = {
    PoolType.DIRECTORY: _directory,
    PoolType.NETFS: _netfs,
    PoolType.ISCSI: _iscsi,
    PoolType.LVM: _lvm,
    PoolType.RBD: _rbd,
    PoolType.ZFS: _zfs,
}
