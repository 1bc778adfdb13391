"""Instance devices on the wire: the product's device rows, attach and edit bodies
(``/v1/instances/{id}/devices/``)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from cloudenv.api.schemas.common import RequestBody, Schema, Timestamp


class DeviceMetadata(RequestBody):
    model_config = ConfigDict(populate_by_name=True)

    type_: int | str | None = Field(
        default=None,
        alias="_type",
        description="The device type again, as the integer enum the Go client sends (2 "
        "storage volume, 7 CD-ROM) or as a word (storage_volume, cdrom); informative, the "
        "device's type decides.",
        examples=[2],
    )
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="Storage volume: {volume_id, bus, dev, readonly}; CD-ROM: {image, bus?, "
        "dev?} (bus ide on pc, sata on q35 unless given; dev the first free path unless given); "
        "NIC: {vswitch_id, port_group_name, mac?, model?} (a vSwitch of the instance's node; "
        "mac generated unless given; model virtio or e1000).",
        examples=[{"volume_id": "vol-RqP1zhgvLT3qasUOvI5DW", "bus": "virtio", "dev": "/dev/vdb"}],
    )


class Device(Schema):
    name: str = Field(examples=["data-1"])
    instance_id: str
    type: int = Field(description="1 NIC, 2 storage volume, 3 TPM, 4 USB, 5 PCI, 6 RNG, 7 CD-ROM.")
    metadata: dict[str, Any] = Field(
        description='{"_type": <the device type, an integer like type>, "data": {bus, dev, '
        "readonly, volume_id|image, ...}}; a NIC's data: {vswitch_id, port_group_name, mac, "
        "model}."
    )
    creation: Timestamp
    description: str
    resource_id: str | None = Field(
        description="The volume (vol-...), image (img-...) or vSwitch (vsw-...)."
    )
    boot_order: int = Field(description="0: not a boot device.")
    is_boot_device: bool
    is_root: bool = Field(description="The root volume, which can't be detached.")
    status: str = Field(description="attaching, attached or detaching.")


class DeviceCreate(RequestBody):
    name: str = Field(description="3-32 characters, no spaces.", examples=["data-1"])
    description: str = ""
    type: int = Field(
        description="1 NIC, 2 storage volume or 7 CD-ROM (others: not yet).", examples=[2]
    )
    metadata: DeviceMetadata = DeviceMetadata()
    live: bool = Field(
        default=True,
        description="Also plug it into the running guest when the bus allows (virtio, scsi, "
        "usb); otherwise the guest sees it after a restart.",
    )


class DeviceAttached(Schema):
    name: str
    needs_reboot: bool = Field(description="The running guest sees the device after a restart.")
    task_id: str = Field(description="The task doing it; follow it at /api/v1/tasks/{id}.")


class DeviceUpdate(RequestBody):
    new_name: str | None = Field(default=None, description="3-32 characters, no spaces.")
    description: str | None = None


class DeviceDetached(Schema):
    needs_reboot: bool = Field(description="The running guest loses it after a restart.")
    task_id: str
