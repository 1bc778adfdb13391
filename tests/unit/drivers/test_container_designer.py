"""The container designer: the ``<domain type='lxc'>`` a container spec becomes (RUNTIME.md
§6a: privnet, a mounted root directory, an enforced memory limit, the user-namespace ID
map, the VMs' OVS interface), read back by XPath, and what it refuses."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from cloudenv.drivers.compute.base import (
    Accelerator,
    ContainerSpec,
    DomainSpec,
    IdMapping,
    InterfaceSpec,
    MountSpec,
    PortVlan,
    VlanMode,
)
from cloudenv.drivers.compute.container_designer import build_container, container_xml
from cloudenv.drivers.compute.libvirt_xml import Domain, parse_xml
from cloudenv.drivers.errors import InvalidDomain
from cloudenv.instance_config import QemuConfig

pytestmark = pytest.mark.unit

ROOTFS = "/var/lib/cloudenv/pools/default/vol-abc"


def make_spec(**changes: Any) -> DomainSpec:
    container = changes.pop(
        "container",
        ContainerSpec(rootfs=ROOTFS, init="/sbin/init", idmap=IdMapping(uid=100000, gid=200000)),
    )
    fields: dict[str, Any] = {
        "name": "inst-ct1",
        "uuid": "6f1c7a8e-3b7e-4bb5-9a41-0c8d1e2f3a4b",
        "title": "web container",
        "vcpus_sockets": 1,
        "vcpus_cores": 2,
        "vcpus_threads": 1,
        "memory_mb": 96,
        "accelerator": Accelerator.TCG,
        "config": QemuConfig(),
        "container": container,
        **changes,
    }
    return DomainSpec(**fields)


def render(spec: DomainSpec) -> ET.Element:
    return parse_xml(container_xml(spec))


def text(root: ET.Element, path: str) -> str | None:
    found = root.find(path)
    return None if found is None else found.text


def test_a_container_is_an_lxc_domain_running_its_init() -> None:
    root = render(make_spec())
    assert root.get("type") == "lxc"
    assert text(root, "name") == "inst-ct1"
    assert text(root, "os/type") == "exe"
    assert text(root, "os/init") == "/sbin/init"
    assert text(root, "devices/emulator") == "/usr/lib/libvirt/libvirt_lxc"
    # without privnet a container with no NIC would share the host's network namespace
    assert root.find("features/privnet") is not None
    (console,) = root.findall("devices/console")
    assert console.get("type") == "pty"
    assert root.find("devices/graphics") is None and root.find("devices/disk") is None


def test_its_root_filesystem_is_the_unpacked_directory_mounted_at_slash() -> None:
    root = render(make_spec())
    (fs,) = root.findall("devices/filesystem")
    assert fs.get("type") == "mount"
    assert fs.find("source").get("dir") == ROOTFS  # type: ignore[union-attr]
    assert fs.find("target").get("dir") == "/"  # type: ignore[union-attr]


def test_memory_is_a_hard_limit_and_cpus_a_cfs_quota() -> None:
    root = render(make_spec(memory_mb=96))
    assert text(root, "memory") == "96" and root.find("memory").get("unit") == "MiB"  # type: ignore[union-attr]
    hard = root.find("memtune/hard_limit")
    assert hard is not None and hard.get("unit") == "KiB" and hard.text == str(96 * 1024)
    assert text(root, "vcpu") == "2"
    assert text(root, "cputune/period") == "100000"
    assert text(root, "cputune/quota") == "200000"  # two CPUs' worth per period
    assert text(root, "cputune/shares") == "2048"


def test_an_unprivileged_container_maps_its_ids_onto_the_subordinate_range() -> None:
    root = render(make_spec())
    uid, gid = root.find("idmap/uid"), root.find("idmap/gid")
    assert uid is not None and gid is not None
    assert (uid.get("start"), uid.get("target"), uid.get("count")) == ("0", "100000", "65536")
    assert (gid.get("start"), gid.get("target"), gid.get("count")) == ("0", "200000", "65536")


def test_a_privileged_container_has_no_id_map() -> None:
    root = render(make_spec(container=ContainerSpec(rootfs=ROOTFS, idmap=None)))
    assert root.find("idmap") is None


def test_a_nic_is_the_vms_openvswitch_port_with_its_vlan() -> None:
    nic = InterfaceSpec(mac="52:54:00:ce:00:21", bridge="svs1", vlan=PortVlan(VlanMode.ACCESS, 10))
    root = render(make_spec(interfaces=(nic,)))
    (element,) = root.findall("devices/interface")
    assert element.get("type") == "bridge"
    assert element.find("source").get("bridge") == "svs1"  # type: ignore[union-attr]
    assert element.find("virtualport").get("type") == "openvswitch"  # type: ignore[union-attr]
    assert [t.get("id") for t in element.findall("vlan/tag")] == ["10"]


def test_mount_points_are_more_filesystems_at_their_paths() -> None:
    mounts = (
        MountSpec(source="/pools/p/vol-data", target="/mnt/data"),
        MountSpec(source="/pools/p/vol-ro", target="/srv/ro", readonly=True),
    )
    container = ContainerSpec(rootfs=ROOTFS, mounts=mounts)
    root = render(make_spec(container=container))
    found = [
        (f.find("source").get("dir"), f.find("target").get("dir"), f.find("readonly") is not None)  # type: ignore[union-attr]
        for f in root.findall("devices/filesystem")
    ]
    assert found == [
        (ROOTFS, "/", False),
        ("/pools/p/vol-data", "/mnt/data", False),
        ("/pools/p/vol-ro", "/srv/ro", True),
    ]


def test_the_domain_reads_back_as_it_was_written() -> None:
    nic = InterfaceSpec(mac="52:54:00:ce:00:21", bridge="svs1", vlan=PortVlan(VlanMode.UNTAGGED))
    mounts = (MountSpec(source="/pools/p/vol-data", target="/mnt/data"),)
    container = ContainerSpec(rootfs=ROOTFS, idmap=IdMapping(uid=1, gid=2, count=3), mounts=mounts)
    domain = build_container(make_spec(container=container, interfaces=(nic,)))
    assert Domain.from_xml(domain.to_xml()) == domain


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"container": None}, "no container part"),
        ({"container": ContainerSpec(rootfs="/")}, "not the host's /"),
        ({"container": ContainerSpec(rootfs="relative/dir")}, "absolute path"),
        ({"container": ContainerSpec(rootfs=ROOTFS, init="sbin/init")}, "init 'sbin/init'"),
        ({"memory_mb": 8}, "at least 16 MB"),
        ({"title": "two\nlines"}, "single line"),
        (
            {
                "container": ContainerSpec(
                    rootfs=ROOTFS, mounts=(MountSpec(source="/a", target="/"),)
                )
            },
            "not / itself",
        ),
        (
            {
                "container": ContainerSpec(
                    rootfs=ROOTFS, mounts=(MountSpec(source="/a", target="/mnt/../etc"),)
                )
            },
            "normalised",
        ),
        (
            {
                "container": ContainerSpec(
                    rootfs=ROOTFS,
                    mounts=(
                        MountSpec(source="/a", target="/mnt/x"),
                        MountSpec(source="/b", target="/mnt/x"),
                    ),
                )
            },
            "share a path",
        ),
    ],
)
def test_what_can_not_work_is_refused_with_what_to_change(
    changes: dict[str, Any], words: str
) -> None:
    spec = make_spec(**changes)
    with pytest.raises(InvalidDomain, match=words.replace("(", r"\(")):
        build_container(spec)


def test_a_spec_change_changes_only_its_part() -> None:
    before = render(make_spec())
    after = render(dataclasses.replace(make_spec(), memory_mb=128))
    assert text(after, "memtune/hard_limit") == str(128 * 1024)
    assert text(before, "os/init") == text(after, "os/init")
