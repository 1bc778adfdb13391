"""A large deployment written straight into a node's database, for the benchmarks.

``seed`` fills the root organization of a node set up by ``cloudenv init`` with
datacenters, clusters, nodes and stopped instances (one "hot" node holding many of them),
the size a UI lists at once. Shared by ``api_latency.py`` (the API's figures) and
``ui_tree.py`` (the web UI's), so both measure the same cloud.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from cloudenv import clock
from cloudenv.config import Settings
from cloudenv.daemon import Daemon
from cloudenv.ids import Prefix, new_id
from cloudenv.services import setup
from cloudenv.store.engine import make_engine, make_session_factory, transaction
from cloudenv.store.tables import Cluster, Datacenter, Instance, Node, Organization

NODES_PER_CLUSTER_MAX = 64

SMALL_HARDWARE = {
    "vcpus": 16,
    "cpu": {
        "manufacturer": "AMD",
        "brand": "AMD EPYC 7302",
        "speed": {"current": 3.0},
        "governor": "performance",
        "cores": {"physical": 16, "performance": 16, "efficiency": 0},
        "processors": 16,
        "sockets": 1,
        "flags": ["avx2", "svm"],
        "virtualization": True,
    },
    "memory": [],
    "disks": [],
    "usb": [],
    "memory_total_mb": 65536,
}


# Set-up ------------------------------------------------------------------------------------------


def initialize(daemon: Daemon, settings: Settings, admin_password: str) -> setup.SetupResult:
    """Set up a daemon built on an empty database (the fake drivers' benches) as
    ``cloudenv init`` would: the root organization "bench" and this node, "node-0"."""
    with transaction(daemon.session_factory) as db:
        return setup.initialize(
            db,
            setup.SetupRequest(
                organization_name="bench",
                timezone="Etc/UTC",
                admin_password=admin_password,
                node_id=settings.node_id,
                node_name="node-0",
                management_ip="127.0.0.1",
                hardware={},
                host={},
                default_pool_path=str(settings.default_pool_path),
            ),
        )


@dataclass
class Seeded:
    node_ids: list[str]  # the node set up by init first
    hot_node: str | None  # the seeded node holding ``hot`` instances
    hot_cluster: str | None  # its cluster
    hot_node_name: str | None = None
    instance_names: list[str] | None = None  # every seeded instance's, in seeding order


def seed(data_dir: Path, datacenters: int, nodes: int, instances: int, hot: int) -> Seeded:
    """Insert ``datacenters`` datacenters in the root organization, one or more clusters in
    each, ``nodes`` nodes spread round-robin over the clusters, and ``instances`` stopped
    instances: ``hot`` of them on the first seeded node, the rest round-robin over the
    seeded nodes. None lands on the served node, whose agent would reconcile them with
    libvirt."""
    settings = Settings.load(data_dir)
    engine = make_engine(settings.database_url)
    now = clock.now()
    try:
        with transaction(make_session_factory(engine)) as db:
            org_id = db.scalars(select(Organization.id).where(Organization.is_root)).one()
            dcs = [
                Datacenter(
                    id=new_id(Prefix.DATACENTER),
                    organization_id=org_id,
                    name=f"bench-dc-{i:04d}",
                    description="Seeded by bench/seeding.py.",
                    latitude=round(-60 + (i * 7.3) % 120, 4),
                    longitude=round(-170 + (i * 13.1) % 340, 4),
                    creation=now,
                )
                for i in range(datacenters)
            ]
            db.add_all(dcs)
            db.flush()
            per_dc = max(1, -(-nodes // max(1, datacenters) // NODES_PER_CLUSTER_MAX))
            clusters = [
                Cluster(
                    id=new_id(Prefix.CLUSTER),
                    organization_id=org_id,
                    datacenter_id=dc.id,
                    name=f"bench-cls-{i:04d}-{j}",
                    description="",
                    creation=now,
                )
                for i, dc in enumerate(dcs)
                for j in range(per_dc)
            ]
            db.add_all(clusters)
            db.flush()
            node_ids = [settings.node_id]
            for i in range(nodes if clusters else 0):
                cluster = clusters[i % len(clusters)]
                node = Node(
                    id=new_id(Prefix.NODE),
                    organization_id=org_id,
                    cluster_id=cluster.id,
                    name=f"bench-node-{i:05d}",
                    description="",
                    ip_address=f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
                    last_seen=now,
                    hardware=SMALL_HARDWARE,
                    host={
                        "hostname": f"bench-node-{i:05d}",
                        "os": {"kernel": "6.1.0-26-amd64", "architecture": "x86_64", "uefi": True},
                        "boot_time": int(now.timestamp()) - 86_400,
                        "timezone": "Etc/UTC",
                    },
                    creation=now,
                )
                db.add(node)
                node_ids.append(node.id)
            db.flush()
            seeded = node_ids[1:]
            rows = instance_rows(org_id, seeded, instances, hot, now) if seeded else []
            if rows:
                db.execute(insert(Instance), rows)
        hot_node = node_ids[1] if len(node_ids) > 1 else None
        hot_cluster = clusters[0].id if hot_node else None
    finally:
        engine.dispose()
    return Seeded(
        node_ids,
        hot_node,
        hot_cluster,
        hot_node_name="bench-node-00000" if hot_node else None,
        instance_names=[row["name"] for row in rows],
    )


def instance_rows(
    org_id: str, node_ids: list[str], count: int, hot: int, now: datetime
) -> list[dict[str, Any]]:
    """``count`` instance rows: the first ``hot`` on ``node_ids[0]``, then round-robin."""
    rows = []
    for i in range(count):
        node_id = node_ids[0] if i < hot else node_ids[(i - hot) % len(node_ids)]
        rows.append(
            {
                "id": new_id(Prefix.INSTANCE),
                "organization_id": org_id,
                "node_id": node_id,
                "name": f"bench-vm-{i:05d}",
                "description": "Seeded by bench/seeding.py.",
                "type": 2,
                "architecture": "x86_64",
                "uuid": str(uuid.uuid4()),
                "cpu_sockets": 1,
                "cpu_cores": 2,
                "cpu_threads": 1,
                "memory_mb": 2048,
                "autostart": False,
                "config": {"machine_type": "q35", "firmware": "efi"},
                "desired_state": "stopped",
                "state": "stopped",
                "state_message": "",
                "current_task_id": None,
                "creation": now,
            }
        )
    return rows
