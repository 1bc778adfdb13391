"""``GET /v1/nodes/{id}``: the node's instances, in the instance-list shape, scoped to the
caller (the product's clients read a node's instances there)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from cloudenv import clock
from cloudenv.ids import Prefix, new_id
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Instance, Node
from tests.conftest import TENANT_PASSWORD, Deployment, login

pytestmark = pytest.mark.unit


def add_instance(dep: Deployment, node_id: str, organization_id: str, name: str) -> str:
    """An instance row as a finished deploy leaves it (stopped), straight into the store."""
    instance_id = new_id(Prefix.INSTANCE)
    with transaction(dep.factory) as db:
        db.add(
            Instance(
                id=instance_id,
                organization_id=organization_id,
                node_id=node_id,
                name=name,
                description="",
                type=2,
                architecture="x86_64",
                uuid=str(uuid.uuid4()),
                cpu_sockets=1,
                cpu_cores=2,
                cpu_threads=2,
                memory_mb=512,
                autostart=False,
                config={},
                desired_state="stopped",
                state="stopped",
                state_message="",
                current_task_id=None,
                creation=clock.now(),
            )
        )
    return instance_id


def move_node_to(dep: Deployment, node_id: str, organization_id: str) -> None:
    with transaction(dep.factory) as db:
        node = db.get_one(Node, node_id)
        node.organization_id = organization_id


def test_node_detail_lists_the_instances_on_the_node(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    node_id, org_id = dep.setup.node_id, dep.setup.organization_id
    second = add_instance(dep, node_id, org_id, "web-2")
    first = add_instance(dep, node_id, org_id, "web-1")

    body = admin.get(f"/api/v1/nodes/{node_id}").json()

    assert [i["id"] for i in body["instances"]] == [first, second]
    entry = body["instances"][0]
    listed = admin.get("/api/v1/instances", params={"node_id": node_id}).json()[0]
    assert entry == listed  # the instance-list shape, field for field
    assert entry["node_id"] == node_id and entry["name"] == "web-1"
    assert entry["cpu"] == {"sockets": 1, "cores": 2, "threads": 2}
    assert type(entry["vcpus"]) is int and entry["vcpus"] == 4
    assert entry["memory"] == 512 and entry["autostart"] is False
    assert type(entry["boot_order"]) is int
    assert {"id", "node_id", "type", "name", "cpu", "vcpus", "memory", "creation"} <= set(entry)


def test_a_tenant_sees_only_its_own_instances_on_a_node(
    anon: TestClient, admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    tenant_org, _ = dep.add_tenant()
    node_id = dep.setup.node_id
    move_node_to(dep, node_id, tenant_org)  # a tenant's node holding a root instance too
    mine = add_instance(dep, node_id, tenant_org, "tenant-vm")
    add_instance(dep, node_id, dep.setup.organization_id, "root-vm")

    seen_by_root = admin.get(f"/api/v1/nodes/{node_id}").json()["instances"]
    assert sorted(i["name"] for i in seen_by_root) == ["root-vm", "tenant-vm"]

    anon.headers.pop("Authorization", None)
    tenant = login(anon, "alice", TENANT_PASSWORD)
    seen_by_tenant = tenant.get(f"/api/v1/nodes/{node_id}").json()["instances"]
    assert [i["id"] for i in seen_by_tenant] == [mine]
