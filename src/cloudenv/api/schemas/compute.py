"""Instances on the wire: the product's deploy body (``POST /v2/instances``), instance
listings, power and edit requests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from cloudenv.api.schemas.common import RequestBody, Schema, Timestamp


class Destination(RequestBody):
    node_id: str | None = Field(default=None, examples=["node-qthm_iLrflJ_DtSS1l4Gx"])
    cluster_id: str | None = Field(default=None, description="The server picks the node.")


class CpuTopology(RequestBody):
    sockets: int = Field(default=1, examples=[1])
    cores: int = Field(default=1, examples=[2])
    threads: int = Field(default=1, examples=[1])
    affinity: Any = Field(default=None, description="Accepted, not used yet.")


class SecureBoot(RequestBody):
    enabled: bool = False
    enroll_standard_keys: bool = False


class NewVolume(RequestBody):
    backup: bool = False
    readonly: bool = False
    bus: str = Field(default="virtio", examples=["virtio"])
    dev: str = Field(default="/dev/vda", examples=["/dev/vda"])
    driver: str = Field(default="qcow2", description="qcow2 or raw.")
    storage_pool_id: str
    size: int = Field(description="GB.", examples=[10])


class ExistingVolume(RequestBody):
    backup: bool = False
    readonly: bool = False
    bus: str = "virtio"
    dev: str = "/dev/vdb"
    driver: str | None = Field(
        default=None, description="Sent by the product's clients; the volume's own format is used."
    )
    volume_id: str


class KernelBoot(RequestBody):
    """cloudenv's addition: boot a kernel image (and initrd) directly, without a loader."""

    kernel: str = Field(description="Name of a kernel image on the node.")
    initrd: str | None = None
    cmdline: str = Field(default="", max_length=4096)


class QemuMetadata(RequestBody):
    model_config = ConfigDict(populate_by_name=True)

    type_: Literal["qemu"] = Field(alias="_type")
    cpu_model: str | None = None
    machine_type: str = Field(default="pc", examples=["q35"])
    firmware: str = Field(default="efi", description="bios or efi.")
    secure_boot: SecureBoot = SecureBoot()
    new_volumes: list[NewVolume] = []
    existing_volumes: list[ExistingVolume] = []
    kernel_boot: KernelBoot | None = None


class LxcMetadata(RequestBody):
    """A container's settings. ``privileged``, ``storage_pool_id`` and ``rootfs_size`` are
    cloudenv's additions to the product's ``{_type: "lxc", init}``."""

    model_config = ConfigDict(populate_by_name=True)

    type_: Literal["lxc"] = Field(alias="_type")
    init: str = Field(
        default="/sbin/init",
        description="The program the container starts as PID 1 (a path inside it).",
        examples=["/sbin/init"],
    )
    privileged: bool = Field(
        default=False,
        description="cloudenv's addition. false (default): unprivileged, root inside is an "
        "unprivileged user of the node (a user-namespace ID map onto root's subordinate "
        "IDs). true: root inside is the node's root; only for trusted images.",
    )
    storage_pool_id: str | None = Field(
        default=None,
        description="cloudenv's addition: the pool the root filesystem goes into (default: "
        "the image's own pool): a directory, netfs, LVM or ZFS pool.",
    )
    rootfs_size: int | None = Field(
        default=None,
        description="cloudenv's addition, in GB: the root filesystem is an ext4 volume of this "
        "size (the container can't write more). Unset: a directory volume on a directory or "
        "netfs pool (no size limit), or on an LVM or ZFS pool the image's size plus 1 GB, "
        "at least 2 GB.",
        examples=[8],
    )


class InstanceDeploy(RequestBody):
    destination: Destination
    name: str = Field(examples=["web-1"], description="3-255 characters.")
    description: str = ""
    architecture: str = "x86_64"
    image: str | None = Field(
        default=None,
        description="An image on the node: an ISO is "
        "inserted as a CD-ROM, a disk image copied into the first "
        "new volume; a container (type 1) needs a container image, its root filesystem.",
    )
    type: int = Field(description="0 docker, 1 lxc, 2 qemu, 3 podman.", examples=[2])
    cpu: CpuTopology = CpuTopology()
    memory: int = Field(default=2048, description="MB, at least 64.")
    imds_enabled: bool = False
    networks: list[dict[str, Any]] = Field(
        default=[],
        description="The instance's NICs, in order: {vswitch_id, port_group_name, mac?, "
        "model?} — a vSwitch of the instance's node and one of its port groups; mac unique "
        "in the cluster (generated as 52:54:00:xx:xx:xx when left out); model virtio "
        "(default) or e1000.",
    )
    metadata: Annotated[QemuMetadata | LxcMetadata, Field(discriminator="type_")]
    autostart: bool = True


class InstanceCpu(Schema):
    sockets: int
    cores: int
    threads: int


class Instance(Schema):
    """The product's instance listing entry, plus cloudenv's state fields."""

    id: str = Field(examples=["inst-RqP1zhgvLT3qasUOvI5DW"])
    node_id: str
    organization_id: str
    type: int
    name: str
    description: str
    cpu: InstanceCpu
    vcpus: int
    memory: int = Field(description="MB.")
    creation: Timestamp
    autostart: bool
    boot_order: int
    state: str = Field(
        description="creating, stopped, starting, running, stopping, "
        "restarting, destroying or error."
    )
    desired_state: str
    state_message: str
    current_task_id: str | None


class InstanceDetail(Schema):
    instance: Instance


class PowerRequest(RequestBody):
    action: Literal["start", "stop", "restart", "kill"]
    timeout: int = Field(
        default=120,
        description="stop/restart: seconds to wait for the "
        "guest before the task fails (then use kill).",
    )


class InstanceCpuUpdate(RequestBody):
    sockets: int
    cores: int
    threads: int


class InstanceChanges(RequestBody):
    action: Literal["update_info_fields", "update_resources"] = "update_info_fields"
    name: str | None = None
    description: str | None = None
    memory: int | None = None
    cpu: InstanceCpuUpdate | None = None
    autostart: bool | None = None


class InstanceUpdate(RequestBody):
    data: InstanceChanges
