"""``disk_source``: the one rule that says how a guest's disk reaches a pool's volume."""

from __future__ import annotations

import pytest

from cloudenv.drivers.compute.base import NetworkHost, NetworkSource, VolumeSource
from cloudenv.drivers.storage.base import PoolType, disk_source, split_host_port
from cloudenv.errors import InvalidInput


@pytest.mark.parametrize("kind", [PoolType.DIRECTORY, PoolType.NETFS])
def test_file_pools_give_the_file(kind: PoolType) -> None:
    where = disk_source(kind, "p1", {"path": "/srv/pools/p1"}, "v1.qcow2")
    assert where == "/srv/pools/p1/v1.qcow2"


@pytest.mark.parametrize("kind", [PoolType.ISCSI, PoolType.LVM, PoolType.ZFS])
def test_block_and_lun_pools_give_the_volume_by_name(kind: PoolType) -> None:
    assert disk_source(kind, "p1", {"portal": "h"}, "unit:0:0:1") == VolumeSource(
        pool="p1", volume="unit:0:0:1"
    )


def test_rbd_gives_a_network_image_with_the_pools_secret() -> None:
    config = {"monitors": ["10.0.0.1", "mon2:6790", "[fd00::1]:6789"], "pool": "rbd", "user": "u"}
    assert disk_source(PoolType.RBD, "p1", config, "v1.raw") == NetworkSource(
        protocol="rbd",
        name="rbd/v1.raw",
        hosts=(NetworkHost("10.0.0.1"), NetworkHost("mon2", 6790), NetworkHost("fd00::1", 6789)),
        username="u",
        secret_type="ceph",
        secret_usage="cloudenv-pool-p1",
    )
    anonymous = disk_source(PoolType.RBD, "p1", config, "v", keyed=False)
    assert isinstance(anonymous, NetworkSource)
    assert (anonymous.username, anonymous.secret_usage) == (None, None)


def test_split_host_port() -> None:
    assert split_host_port("h", 3260) == ("h", 3260)
    assert split_host_port("h:3261", 3260) == ("h", 3261)
    assert split_host_port("[::1]:3262") == ("::1", 3262)
    assert split_host_port("[::1]", 1) == ("::1", 1)
    with pytest.raises(InvalidInput, match="must be a number"):
        split_host_port("h:x")
