"""The product's enumerations, shared by every layer (drivers included): on the wire the
integer ones are integers, the string ones strings (see API-COMPAT.md)."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class InstanceType(IntEnum):
    DOCKER = 0
    LXC = 1
    QEMU = 2
    PODMAN = 3


class PoolType(IntEnum):
    DIRECTORY = 0
    ISCSI = 1
    LVM = 2
    NETFS = 3
    RBD = 4
    ZFS = 5


class VolumeStatus(IntEnum):
    CREATING = 0
    AVAILABLE = 1
    ATTACHING = 2
    DETACHING = 3
    DESTROYING = 4
    RESIZING = 5
    ERROR = 6


class DeviceType(IntEnum):
    NIC = 1
    STORAGE_VOLUME = 2
    TPM = 3
    USB = 4
    PCI = 5
    RNG = 6
    CDROM = 7


class DiskBus(StrEnum):
    IDE = "ide"
    SATA = "sata"
    SCSI = "scsi"
    VIRTIO = "virtio"
    USB = "usb"


class DiskFormat(StrEnum):
    QCOW2 = "qcow2"
    RAW = "raw"
    VMDK = "vmdk"
