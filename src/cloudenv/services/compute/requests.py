"""What a deploy asks for, as plain records (the API parses the product's JSON body into
these; the CLI, MCP server and AI agent build them directly). Built by keyword only.

The QEMU settings travel as the typed ``QemuConfig`` that the instance row will store, so
their defaults are written once, in ``cloudenv.instance_config``."""

from __future__ import annotations

from dataclasses import dataclass, field

from cloudenv.instance_config import ContainerConfig, QemuConfig


@dataclass(frozen=True, kw_only=True)
class NewVolume:
    size_gb: int
    storage_pool_id: str
    bus: str = "virtio"
    dev: str = "/dev/vda"
    driver: str = "qcow2"
    readonly: bool = False
    backup: bool = False


@dataclass(frozen=True, kw_only=True)
class ExistingVolume:
    volume_id: str
    bus: str = "virtio"
    dev: str = "/dev/vdb"
    readonly: bool = False


@dataclass(frozen=True, kw_only=True)
class KernelBoot:
    """cloudenv's addition: boot a kernel (and initrd) image directly, no boot loader."""

    kernel: str  # image name on the node
    initrd: str | None = None
    cmdline: str = ""


@dataclass(frozen=True, kw_only=True)
class DeployRequest:
    name: str
    type: int
    node_id: str | None = None
    cluster_id: str | None = None
    description: str = ""
    architecture: str = "x86_64"
    image: str | None = None
    sockets: int = 1
    cores: int = 1
    threads: int = 1
    memory_mb: int = 2048
    autostart: bool = True
    networks: list[dict[str, object]] = field(default_factory=list)
    config: QemuConfig = field(default_factory=QemuConfig)  # kernel_boot: see below
    new_volumes: list[NewVolume] = field(default_factory=list)
    existing_volumes: list[ExistingVolume] = field(default_factory=list)
    kernel_boot: KernelBoot | None = None  # by image name; the deploy resolves it
    #: A container's settings (type 1): init, privileged.
    container: ContainerConfig | None = None
    #: cloudenv's addition for containers: the pool the root filesystem is unpacked into
    #: (default: the image's own pool).
    storage_pool_id: str | None = None
    #: cloudenv's addition for containers: the root filesystem as an ext4 volume of this
    #: many GB (None: a directory where the pool holds them, else a size from the image).
    rootfs_size_gb: int | None = None
