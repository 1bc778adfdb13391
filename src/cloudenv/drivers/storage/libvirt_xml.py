"""libvirt storage XML as small element classes: ``<pool>`` of every type we define
(dir, netfs, iscsi-direct, iscsi, logical, rbd, zfs), ``<volume>`` and ``<secret>``.

Each class holds values only and converts them to and from XML with the standard
library's ElementTree; values always go into element text or attributes, never into
strings that are pasted together. No decisions live here (which mode, which format):
the driver makes them and fills the fields.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import ClassVar

#: libvirt's namespace for a netfs/fs pool's mount options (libvirt 5.1 and later):
#: ``<fs:mount_opts><fs:option name='...'/></fs:mount_opts>``, each option handed to
#: mount(8) after libvirt's own in its ``-o`` list.
FS_NAMESPACE = "http://libvirt.org/schemas/storagepool/fs/1.0"
# So the document says xmlns:fs on <pool>, as libvirt writes it, not ElementTree's ns0.
ET.register_namespace("fs", FS_NAMESPACE)
_MOUNT_OPTS = f"{{{FS_NAMESPACE}}}mount_opts"
_OPTION = f"{{{FS_NAMESPACE}}}option"

_UNITS = {
    "b": 1,
    "bytes": 1,
    "k": 1024,
    "kib": 1024,
    "kb": 1000,
    "m": 1024**2,
    "mib": 1024**2,
    "mb": 1000**2,
    "g": 1024**3,
    "gib": 1024**3,
    "gb": 1000**3,
    "t": 1024**4,
    "tib": 1024**4,
    "tb": 1000**4,
}


def _bytes_of(element: ET.Element | None) -> int | None:
    """The size an element like ``<capacity unit='MiB'>64</capacity>`` holds, in bytes."""
    if element is None or element.text is None:
        return None
    unit = element.get("unit", "bytes").lower()
    if unit not in _UNITS:
        raise ValueError(f"unknown size unit {unit!r} in <{element.tag}>")
    return int(element.text.strip()) * _UNITS[unit]


def _size_element(parent: ET.Element, tag: str, value: int) -> None:
    child = ET.SubElement(parent, tag, unit="bytes")
    child.text = str(value)


def _mode_of(target: ET.Element | None) -> int | None:
    if target is None:
        return None
    mode = target.findtext("permissions/mode")
    return int(mode.strip(), 8) if mode else None


def _permissions_element(target: ET.Element, mode: int) -> None:
    permissions = ET.SubElement(target, "permissions")
    ET.SubElement(permissions, "mode").text = format(mode, "04o")


def _parse(xml: str, tag: str) -> ET.Element:
    root = ET.fromstring(xml)  # noqa: S314 - libvirtd's own output
    if root.tag != tag:
        raise ValueError(f"expected <{tag}>, got <{root.tag}>")
    return root


@dataclass(frozen=True)
class DirPool:
    """``<pool type='dir'>``: a directory holding one file per volume.

    ``mode`` is the directory's permission bits, applied by ``build``; ``pool_type``
    is kept on parse so a caller can tell a foreign pool of the same name apart.
    """

    name: str
    path: str
    mode: int | None = None
    pool_type: str = "dir"

    def to_element(self) -> ET.Element:
        pool = ET.Element("pool", type=self.pool_type)
        ET.SubElement(pool, "name").text = self.name
        target = ET.SubElement(pool, "target")
        ET.SubElement(target, "path").text = self.path
        if self.mode is not None:
            _permissions_element(target, self.mode)
        return pool

    def to_xml(self) -> str:
        return ET.tostring(self.to_element(), encoding="unicode")

    @classmethod
    def from_xml(cls, xml: str) -> DirPool:
        root = _parse(xml, "pool")
        target = root.find("target")
        return cls(
            name=root.findtext("name", ""),
            path=root.findtext("target/path", ""),
            mode=_mode_of(target),
            pool_type=root.get("type", ""),
        )


@dataclass(frozen=True)
class Volume:
    """``<volume>``: one file in a pool.

    ``path`` is read from ``<target><path>`` on parse (libvirt chooses it from the pool
    and the name); it is written back only when set, which libvirt then ignores.
    """

    name: str
    capacity_bytes: int
    format: str | None = "raw"  # None: no <format> (block backends take none)
    allocation_bytes: int | None = None
    mode: int | None = None
    path: str | None = None

    def to_element(self) -> ET.Element:
        volume = ET.Element("volume")
        ET.SubElement(volume, "name").text = self.name
        _size_element(volume, "capacity", self.capacity_bytes)
        if self.allocation_bytes is not None:
            _size_element(volume, "allocation", self.allocation_bytes)
        target = ET.SubElement(volume, "target")
        if self.path is not None:
            ET.SubElement(target, "path").text = self.path
        if self.format is not None:
            ET.SubElement(target, "format", type=self.format)
        if self.mode is not None:
            _permissions_element(target, self.mode)
        return volume

    def to_xml(self) -> str:
        return ET.tostring(self.to_element(), encoding="unicode")

    @classmethod
    def from_xml(cls, xml: str) -> Volume:
        root = _parse(xml, "volume")
        target = root.find("target")
        format_element = root.find("target/format")
        return cls(
            name=root.findtext("name", ""),
            capacity_bytes=_bytes_of(root.find("capacity")) or 0,
            format=format_element.get("type", "raw") if format_element is not None else "raw",
            allocation_bytes=_bytes_of(root.find("allocation")),
            mode=_mode_of(target),
            path=root.findtext("target/path"),
        )


def _source_hosts(source: ET.Element | None) -> tuple[PoolHost, ...]:
    if source is None:
        return ()
    return tuple(
        PoolHost(host.get("name", ""), int(port) if (port := host.get("port")) else None)
        for host in source.findall("host")
    )


@dataclass(frozen=True)
class PoolHost:
    """``<host name= port=/>`` of a pool's source: an NFS/CIFS server, an iSCSI portal, a
    Ceph monitor. ``port`` None leaves the protocol's default."""

    name: str
    port: int | None = None

    def append_to(self, source: ET.Element) -> None:
        host = ET.SubElement(source, "host", name=self.name)
        if self.port is not None:
            host.set("port", str(self.port))


@dataclass(frozen=True)
class PoolAuth:
    """``<auth type='chap'|'ceph' username=><secret usage=|uuid=/></auth>``: the user, and
    which libvirt secret holds the password or key (never the value itself)."""

    type: str
    username: str
    secret_usage: str | None = None
    secret_uuid: str | None = None

    def append_to(self, source: ET.Element) -> None:
        auth = ET.SubElement(source, "auth", type=self.type, username=self.username)
        secret = ET.SubElement(auth, "secret")
        if self.secret_uuid is not None:
            secret.set("uuid", self.secret_uuid)
        if self.secret_usage is not None:
            secret.set("usage", self.secret_usage)

    @classmethod
    def from_source(cls, source: ET.Element | None) -> PoolAuth | None:
        auth = None if source is None else source.find("auth")
        if auth is None:
            return None
        secret = auth.find("secret")
        return cls(
            type=auth.get("type", ""),
            username=auth.get("username", ""),
            secret_usage=None if secret is None else secret.get("usage"),
            secret_uuid=None if secret is None else secret.get("uuid"),
        )


def _pool_element(pool_type: str, name: str) -> tuple[ET.Element, ET.Element]:
    """``<pool type=><name/><source/></pool>``: the root and its source element."""
    pool = ET.Element("pool", type=pool_type)
    ET.SubElement(pool, "name").text = name
    return pool, ET.SubElement(pool, "source")


def _target(pool: ET.Element, path: str, mode: int | None = None) -> None:
    target = ET.SubElement(pool, "target")
    ET.SubElement(target, "path").text = path
    if mode is not None:
        _permissions_element(target, mode)


def _parse_pool(xml: str, pool_type: str) -> ET.Element:
    root = _parse(xml, "pool")
    if root.get("type") != pool_type:
        raise ValueError(f"expected <pool type='{pool_type}'>, got type {root.get('type')!r}")
    return root


def _attr(root: ET.Element, path: str, name: str) -> str:
    element = root.find(path)
    return "" if element is None else element.get(name, "")


@dataclass(frozen=True)
class NetfsPool:
    """``<pool type='netfs'>``: an NFS export (``source_dir`` absolute) or a CIFS share
    (``source_dir`` the share's name) that libvirt mounts on ``path``. ``mount_options``
    (e.g. ``credentials=/etc/...``) go into ``<fs:mount_opts>``; libvirt adds them to the
    ones it always gives mount(8)."""

    name: str
    host: str
    source_dir: str
    format: str  # "nfs" or "cifs"
    path: str
    mode: int | None = None
    mount_options: tuple[str, ...] = ()
    pool_type: ClassVar[str] = "netfs"

    def to_xml(self) -> str:
        pool, source = _pool_element(self.pool_type, self.name)
        PoolHost(self.host).append_to(source)
        ET.SubElement(source, "dir", path=self.source_dir)
        ET.SubElement(source, "format", type=self.format)
        _target(pool, self.path, self.mode)
        if self.mount_options:
            options = ET.SubElement(pool, _MOUNT_OPTS)
            for option in self.mount_options:
                ET.SubElement(options, _OPTION, name=option)
        return ET.tostring(pool, encoding="unicode")

    @classmethod
    def from_xml(cls, xml: str) -> NetfsPool:
        root = _parse_pool(xml, cls.pool_type)
        hosts = _source_hosts(root.find("source"))
        return cls(
            name=root.findtext("name", ""),
            host=hosts[0].name if hosts else "",
            source_dir=_attr(root, "source/dir", "path"),
            format=_attr(root, "source/format", "type"),
            path=root.findtext("target/path", ""),
            mode=_mode_of(root.find("target")),
            mount_options=tuple(
                option.get("name", "") for option in root.findall(f"{_MOUNT_OPTS}/{_OPTION}")
            ),
        )


@dataclass(frozen=True)
class IscsiDirectPool:
    """``<pool type='iscsi-direct'>``: a target reached through libvirt's userspace
    initiator (libiscsi); its LUNs are the volumes. ``target`` is the target's IQN,
    ``initiator`` the IQN this node logs in as."""

    name: str
    hosts: tuple[PoolHost, ...]
    target: str
    initiator: str
    auth: PoolAuth | None = None
    pool_type: ClassVar[str] = "iscsi-direct"

    def to_xml(self) -> str:
        pool, source = _pool_element(self.pool_type, self.name)
        for host in self.hosts:
            host.append_to(source)
        ET.SubElement(source, "device", path=self.target)
        initiator = ET.SubElement(source, "initiator")
        ET.SubElement(initiator, "iqn", name=self.initiator)
        if self.auth is not None:
            self.auth.append_to(source)
        return ET.tostring(pool, encoding="unicode")

    @classmethod
    def from_xml(cls, xml: str) -> IscsiDirectPool:
        root = _parse_pool(xml, cls.pool_type)
        source = root.find("source")
        return cls(
            name=root.findtext("name", ""),
            hosts=_source_hosts(source),
            target=_attr(root, "source/device", "path"),
            initiator=_attr(root, "source/initiator/iqn", "name"),
            auth=PoolAuth.from_source(source),
        )


@dataclass(frozen=True)
class IscsiPool:
    """``<pool type='iscsi'>``: the same target through the kernel's initiator (open-iscsi);
    the LUNs appear as block devices under ``path`` (``/dev/disk/by-path``: stable
    names). ``initiator`` None logs in as the node's own IQN."""

    name: str
    hosts: tuple[PoolHost, ...]
    target: str
    initiator: str | None = None
    auth: PoolAuth | None = None
    path: str = "/dev/disk/by-path"
    pool_type: ClassVar[str] = "iscsi"

    def to_xml(self) -> str:
        pool, source = _pool_element(self.pool_type, self.name)
        for host in self.hosts:
            host.append_to(source)
        ET.SubElement(source, "device", path=self.target)
        if self.initiator is not None:
            initiator = ET.SubElement(source, "initiator")
            ET.SubElement(initiator, "iqn", name=self.initiator)
        if self.auth is not None:
            self.auth.append_to(source)
        _target(pool, self.path)
        return ET.tostring(pool, encoding="unicode")

    @classmethod
    def from_xml(cls, xml: str) -> IscsiPool:
        root = _parse_pool(xml, cls.pool_type)
        source = root.find("source")
        return cls(
            name=root.findtext("name", ""),
            hosts=_source_hosts(source),
            target=_attr(root, "source/device", "path"),
            initiator=_attr(root, "source/initiator/iqn", "name") or None,
            auth=PoolAuth.from_source(source),
            path=root.findtext("target/path", ""),
        )


@dataclass(frozen=True)
class LogicalPool:
    """``<pool type='logical'>``: an existing LVM volume group; each logical volume is a
    volume, a block device under ``path`` (``/dev/<volume group>``)."""

    name: str
    volume_group: str
    path: str
    pool_type: ClassVar[str] = "logical"

    def to_xml(self) -> str:
        pool, source = _pool_element(self.pool_type, self.name)
        ET.SubElement(source, "name").text = self.volume_group
        ET.SubElement(source, "format", type="lvm2")
        _target(pool, self.path)
        return ET.tostring(pool, encoding="unicode")

    @classmethod
    def from_xml(cls, xml: str) -> LogicalPool:
        root = _parse_pool(xml, cls.pool_type)
        return cls(
            name=root.findtext("name", ""),
            volume_group=root.findtext("source/name", ""),
            path=root.findtext("target/path", ""),
        )


@dataclass(frozen=True)
class RbdPool:
    """``<pool type='rbd'>``: a Ceph pool (``ceph_pool``) reached through its monitors;
    each RBD image is a volume."""

    name: str
    ceph_pool: str
    hosts: tuple[PoolHost, ...]
    auth: PoolAuth | None = None
    pool_type: ClassVar[str] = "rbd"

    def to_xml(self) -> str:
        pool, source = _pool_element(self.pool_type, self.name)
        ET.SubElement(source, "name").text = self.ceph_pool
        for host in self.hosts:
            host.append_to(source)
        if self.auth is not None:
            self.auth.append_to(source)
        return ET.tostring(pool, encoding="unicode")

    @classmethod
    def from_xml(cls, xml: str) -> RbdPool:
        root = _parse_pool(xml, cls.pool_type)
        source = root.find("source")
        return cls(
            name=root.findtext("name", ""),
            ceph_pool=root.findtext("source/name", ""),
            hosts=_source_hosts(source),
            auth=PoolAuth.from_source(source),
        )


@dataclass(frozen=True)
class ZfsPool:
    """``<pool type='zfs'>``: an existing ZFS pool (``zpool``); each zvol is a volume."""

    name: str
    zpool: str
    pool_type: ClassVar[str] = "zfs"

    def to_xml(self) -> str:
        pool, source = _pool_element(self.pool_type, self.name)
        ET.SubElement(source, "name").text = self.zpool
        return ET.tostring(pool, encoding="unicode")

    @classmethod
    def from_xml(cls, xml: str) -> ZfsPool:
        root = _parse_pool(xml, cls.pool_type)
        return cls(name=root.findtext("name", ""), zpool=root.findtext("source/name", ""))


AnyPool = DirPool | NetfsPool | IscsiDirectPool | IscsiPool | LogicalPool | RbdPool | ZfsPool

_POOL_CLASSES: dict[
    str, type[NetfsPool | IscsiDirectPool | IscsiPool | LogicalPool | RbdPool | ZfsPool]
] = {
    cls.pool_type: cls
    for cls in (NetfsPool, IscsiDirectPool, IscsiPool, LogicalPool, RbdPool, ZfsPool)
}


def pool_type_of(xml: str) -> str:
    """The ``type`` attribute of a ``<pool>`` document."""
    return _parse(xml, "pool").get("type", "")


def parse_pool(xml: str) -> AnyPool:
    """A ``<pool>`` document as the class of its type; types we never define come back as
    a DirPool whose ``pool_type`` names them (so a caller can tell it is foreign)."""
    cls = _POOL_CLASSES.get(pool_type_of(xml))
    return DirPool.from_xml(xml) if cls is None else cls.from_xml(xml)


@dataclass(frozen=True)
class Secret:
    """``<secret ephemeral='no' private='yes'>``: where libvirt keeps a CHAP password or a
    Ceph key. ``usage_type`` "iscsi" (``usage_id`` in ``<target>``) or "ceph" (in
    ``<name>``); a pool's ``<auth>`` finds it by that id. Private: no client can read the
    value back; not ephemeral: it survives a libvirtd restart, as the autostarted pool
    needs. The value is set separately (``virSecretSetValue``), never in this XML."""

    usage_type: str
    usage_id: str
    description: str = ""
    uuid: str | None = None
    private: bool = True
    ephemeral: bool = False

    def to_xml(self) -> str:
        secret = ET.Element(
            "secret",
            ephemeral="yes" if self.ephemeral else "no",
            private="yes" if self.private else "no",
        )
        if self.uuid is not None:
            ET.SubElement(secret, "uuid").text = self.uuid
        if self.description:
            ET.SubElement(secret, "description").text = self.description
        usage = ET.SubElement(secret, "usage", type=self.usage_type)
        ET.SubElement(
            usage, "target" if self.usage_type == "iscsi" else "name"
        ).text = self.usage_id
        return ET.tostring(secret, encoding="unicode")

    @classmethod
    def from_xml(cls, xml: str) -> Secret:
        root = _parse(xml, "secret")
        usage = root.find("usage")
        usage_type = "" if usage is None else usage.get("type", "")
        usage_id = "" if usage is None else usage.findtext("target") or usage.findtext("name")
        return cls(
            usage_type=usage_type,
            usage_id=usage_id or "",
            description=root.findtext("description", ""),
            uuid=root.findtext("uuid"),
            private=root.get("private") == "yes",
            ephemeral=root.get("ephemeral") == "yes",
        )


__all__ = [
    "FS_NAMESPACE",
    "AnyPool",
    "DirPool",
    "IscsiDirectPool",
    "IscsiPool",
    "LogicalPool",
    "NetfsPool",
    "PoolAuth",
    "PoolHost",
    "RbdPool",
    "Secret",
    "Volume",
    "ZfsPool",
    "parse_pool",
    "pool_type_of",
]
