"""The product's enumerations, shared by every layer (drivers included): on the wire the
integer ones are integers, the string ones strings (see API-COMPAT.md).

The state and status vocabularies stored in columns live here too, so ``store.tables``
can type its columns with them (store must not import services); each stores exactly its
value (``store.base.EnumColumn``), so the schema does not change with the type.
"""

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


class VSwitchType(IntEnum):
    STANDALONE = 0
    DISTRIBUTED = 1


class PortGroupType(IntEnum):
    """How a port group's ports carry VLANs (the wire's ``config.type``)."""

    ACCESS = 1  # one VLAN, untagged to the instance
    TRUNK = 2  # several VLANs, tagged (a native VLAN untagged)
    UNTAGGED = 3  # no VLAN


class SwitchStatus(StrEnum):
    """A vSwitch's state on its node, as that node's agent last applied it to OVS."""

    PENDING = "pending"
    READY = "ready"
    #: The agent could not apply it (``message`` says why).
    ERROR = "error"


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
    #: A directory in a directory or netfs pool: a container's root filesystem or one of
    #: its mount points (never a VM's disk).
    DIR = "dir"


class InstanceState(StrEnum):
    """What a node's agent last observed an instance doing (``instances.state``); the
    transitions between them are ``services.compute.states``."""

    #: Its deploy task is creating volumes and defining the domain.
    CREATING = "creating"
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    RESTARTING = "restarting"
    #: Its destroy task is removing the domain (and, if asked, its volumes).
    DESTROYING = "destroying"
    #: The agent could not make it match; start, kill and destroy are allowed.
    ERROR = "error"


class DesiredState(StrEnum):
    """What the user last asked an instance to be (``instances.desired_state``)."""

    RUNNING = "running"
    STOPPED = "stopped"


class TaskStatus(StrEnum):
    """Where a task is in its life (``tasks.status``); see ``services.tasks``."""

    #: Waiting for its node's agent to claim it.
    QUEUED = "queued"
    #: Claimed; the agent is working on it.
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    #: Refused (with a user message), crashed, or interrupted by a restart.
    FAILED = "failed"
    #: Cancelled while queued: it never ran, and what it held was given back.
    CANCELLED = "cancelled"


class ImageStatus(StrEnum):
    """An image's life (``images.status``)."""

    #: Staged; its import task is moving it into the pool.
    UPLOADING = "uploading"
    #: In its pool; deploys and CD-ROMs may use it.
    AVAILABLE = "available"
    #: Its delete task is removing the file.
    DELETING = "deleting"
    ERROR = "error"


class PoolNodeStatus(StrEnum):
    """A pool's state on one node (``pool_nodes.status``), as that node's agent saw it."""

    #: Enabled, not looked at by the agent yet.
    PENDING = "pending"
    READY = "ready"
    #: The agent could not define or start it (``message`` says why).
    ERROR = "error"
    #: No longer enabled there (or the pool is being destroyed): propagation stops and
    #: undefines it on the node, then drops the row.
    REMOVING = "removing"


class PoolStatus(StrEnum):
    """A cluster pool's status, derived from its nodes' states (the seed's icons)."""

    #: Enabled on no node: the grey dash.
    NONE = "none"
    #: Available on every enabled node: the green check.
    OK = "ok"
    #: Propagation failed on at least one node: the red X (``nodes[].error`` says why).
    ERROR = "error"
    #: Propagation to at least one node is still in progress.
    PENDING = "pending"
    #: Marked for destruction; propagation is cleaning it up and its name stays taken.
    DESTROYING = "destroying"


class SnapshotStatus(StrEnum):
    """A snapshot row's life (``snapshots.status``)."""

    #: Its task is taking it.
    CREATING = "creating"
    #: The hypervisor has it; it can be reverted to.
    READY = "ready"
    #: Taking it failed (the task says why); only deleting it is left.
    ERROR = "error"


class ConsoleKind(StrEnum):
    """Which console a ticket opens (``console_tokens.kind``)."""

    VNC = "vnc"
    """The VM's screen over RFB, shown by noVNC (virtual machines only)."""
    SERIAL = "serial"
    """The first serial port (or a container's console), shown by xterm.js."""
    SHELL = "shell"
    """A login shell on the node itself (its Console tab), shown by xterm.js."""


class LicenseStatus(StrEnum):
    """A node's license key, or a cluster's keys taken together (the worst of its nodes'),
    as ``GET /v1/clusters/{id}/licensing`` reports it. cloudenv works the same in every
    status: the status is shown and audited, never enforced."""

    #: A key from a trusted issuer, for this node, more than 30 days from its expiry.
    VALID = "valid"
    #: Valid, but it expires within 30 days: time to ask for a renewal.
    EXPIRING = "expiring"
    #: Its expiry has passed.
    EXPIRED = "expired"
    #: No key, or one that no longer checks out (its issuer is no longer trusted).
    MISSING = "missing"
