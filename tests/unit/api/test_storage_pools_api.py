"""Cluster storage pools over HTTP: create (per-type settings checked, secrets kept
write-only), enable on nodes (propagation turns them green, or red naming the node),
the seed's refusals (rename, overlapping target paths, a name marked for destruction,
destroy or disable while volumes are there), destroy and its cleanup."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudenv import clock
from cloudenv.agent.drivers import Drivers
from cloudenv.agent.loop import Agent
from cloudenv.drivers.compute.fake import FakeComputeDriver
from cloudenv.drivers.storage.fake import FakeStorageDriver
from cloudenv.drivers.storage.pool_design import credentials_path
from cloudenv.enums import PoolType, VolumeStatus
from cloudenv.ids import Prefix, new_id
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Event, Node, StoragePool, Task, Volume
from tests.conftest import Deployment, audit_rows

pytestmark = pytest.mark.unit

CHAP_SECRET = "Chap-Secret-4711"
CEPH_KEY = "QVFBbm1FQmZ2R0lvR1JBQTFUZjdjY0VYS0dlZGJ3PT0="
CIFS_PASSWORD = "Cifs-Password-0815"
_CIFS_LOGIN = {
    "protocol": "cifs",
    "server": "nas",
    "export": "s",
    "path": "/mnt/a",
    "username": "bob",
}


def pools_url(dep: Deployment) -> str:
    return f"/api/v1/clusters/{dep.setup.cluster_id}/storage_pools"


def create(
    client: TestClient,
    dep: Deployment,
    name: str,
    type: int = 0,
    config: dict[str, Any] | None = None,
    **extra: Any,
) -> str:
    if config is None:
        config = {"path": f"/srv/pools/{name}"}
    body = {"name": name, "type": type, "config": config}
    response = client.post(pools_url(dep), json={**body, **extra})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def enable(client: TestClient, pool_id: str, *node_ids: str) -> dict[str, Any]:
    response = client.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": list(node_ids)})
    assert response.status_code == 200, response.text
    return dict(response.json())


def pool(client: TestClient, pool_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/storage_pools/{pool_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def add_node(dep: Deployment, name: str) -> str:
    """A second node of the deployment's cluster (its agent is the caller's business)."""
    node_id = new_id(Prefix.NODE)
    with transaction(dep.factory) as db:
        db.add(
            Node(
                id=node_id,
                organization_id=dep.setup.organization_id,
                cluster_id=dep.setup.cluster_id,
                name=name,
                description="",
                ip_address="127.0.0.2",
                hardware={},
                host={},
                creation=clock.now(),
                last_seen=clock.now(),
            )
        )
    return node_id


def agent_of(dep: Deployment, node_id: str, storage: FakeStorageDriver | None = None) -> Agent:
    drivers = Drivers(FakeComputeDriver(), storage or FakeStorageDriver())
    return Agent(node_id, dep.factory, drivers)


def add_volume(dep: Deployment, pool_id: str, node_id: str, name: str = "data") -> str:
    volume_id = new_id(Prefix.VOLUME)
    with transaction(dep.factory) as db:
        db.add(
            Volume(
                id=volume_id,
                organization_id=dep.setup.organization_id,
                node_id=node_id,
                pool_id=pool_id,
                name=name,
                file_name=f"{volume_id}.qcow2",
                size_bytes=1024**3,
                format="qcow2",
                status=VolumeStatus.AVAILABLE,
                creation=clock.now(),
            )
        )
    return volume_id


# Creating and reading


def test_a_new_pool_is_enabled_on_no_node(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    pool_id = create(admin, dep, "fast", description="NVMe", can_hold_images=True)
    assert pool_id.startswith("pool-")
    listed = {p["id"]: p for p in admin.get(pools_url(dep)).json()}
    assert set(listed) == {pool_id, dep.setup.default_pool_id}
    got = listed[pool_id]
    assert got == pool(admin, pool_id)
    assert got["cluster_id"] == dep.setup.cluster_id
    assert (got["name"], got["type"], got["description"]) == ("fast", 0, "NVMe")
    assert (got["node_count"], got["nodes"], got["status"]) == (0, [], "none")
    assert got["can_hold_images"] is True and got["is_default"] is False
    assert got["config"] == {"path": "/srv/pools/fast"}
    default = listed[dep.setup.default_pool_id]
    assert default["is_default"] is True and default["node_count"] == 1
    with transaction(dep.factory) as db:
        assert db.scalar(select(Task).where(Task.kind == "pool.sync")) is None


def test_enabling_a_pool_propagates_it_and_turns_it_green(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    node = dep.setup.node_id
    pool_id = create(admin, dep, "fast")
    shown = enable(admin, pool_id, node)
    assert shown["status"] == "pending" and shown["node_count"] == 1
    assert shown["nodes"] == [{"node_id": node, "state": "pending", "error": None}]
    assert dep.daemon.agent.run_pending() == 1  # one pool.sync for the node
    assert dep.storage.pools[pool_id].path == "/srv/pools/fast"
    got = pool(admin, pool_id)
    assert got["status"] == "ok"
    assert got["nodes"] == [{"node_id": node, "state": "ready", "error": None}]
    on_node = {p["id"]: p for p in admin.get(f"/api/v1/nodes/{node}/storage/pools").json()}
    assert on_node[pool_id]["available"] is True
    assert on_node[pool_id]["usage"]["capacity"] == 100.0
    kinds = _event_kinds(dep, pool_id)
    assert {"pool.created", "pool.updated", "pool.node_updated"} <= kinds


def test_disabling_a_pool_removes_it_from_the_node(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    pool_id = create(admin, dep, "fast")
    enable(admin, pool_id, dep.setup.node_id)
    dep.daemon.agent.run_pending()
    shown = enable(admin, pool_id)
    assert shown["status"] == "pending" and shown["node_count"] == 0
    assert shown["nodes"][0]["state"] == "removing"
    dep.daemon.agent.run_pending()
    assert pool_id not in dep.storage.pools
    assert ("remove_pool", pool_id) in dep.storage.calls
    got = pool(admin, pool_id)
    assert (got["status"], got["nodes"]) == ("none", [])


def test_a_pool_a_node_cannot_define_turns_red_naming_the_node(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    dep.storage.lacking[PoolType.LVM] = "volume group vg0 not found"
    pool_id = create(admin, dep, "vg0", type=2, config={})
    enable(admin, pool_id, dep.setup.node_id)
    dep.daemon.agent.run_pending()
    got = pool(admin, pool_id)
    assert got["status"] == "error"
    assert got["config"] == {"volume_group": "vg0"}
    (state,) = got["nodes"]
    assert state["state"] == "error"
    assert state["error"].startswith(f"{dep.setup.node_id}: ")
    assert "volume group vg0 not found" in state["error"]
    with transaction(dep.factory) as db:
        task = db.scalars(select(Task).where(Task.kind == "pool.sync")).one()
    assert task.status == "failed" and "vg0" in task.message


def test_status_is_pending_until_every_enabled_node_has_it(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    other = add_node(dep, "node-b")
    pool_id = create(admin, dep, "shared")
    enable(admin, pool_id, dep.setup.node_id, other)
    dep.daemon.agent.run_pending()
    got = pool(admin, pool_id)
    assert got["status"] == "pending" and got["node_count"] == 2
    assert agent_of(dep, other).run_pending() == 1
    assert pool(admin, pool_id)["status"] == "ok"


# The seed's refusals


def test_the_name_of_a_pool_cannot_be_changed(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    pool_id = create(admin, sqlite_deployment, "fast")
    for body in ({"name": "faster"}, {"name": "faster", "node_ids": []}):
        response = admin.patch(f"/api/v1/storage_pools/{pool_id}", json=body)
        assert response.status_code == 400
        assert response.json() == {
            "code": 400,
            "message": "The name of a storage pool cannot be changed after creation.",
            "field": "name",
        }
    assert pool(admin, pool_id)["name"] == "fast"
    other = admin.patch(f"/api/v1/storage_pools/{pool_id}", json={"description": "x"})
    assert (other.status_code, other.json()["field"]) == (400, "description")


@pytest.mark.parametrize(
    ("path", "type", "config"),
    [
        ("/srv/pools/a", 0, {"path": "/srv/pools/a"}),
        ("/srv/pools/a", 0, {"path": "/srv/pools/a/"}),
        ("/srv/pools/a/inner", 0, {"path": "/srv/pools/a/inner"}),
        ("/srv", 0, {"path": "/srv"}),
        (
            "/srv/pools/a/nfs",
            3,
            {"server": "nas.example", "export": "/export", "path": "/srv/pools/a/nfs"},
        ),
    ],
)
def test_target_paths_must_not_overlap_another_file_pool(
    admin: TestClient, sqlite_deployment: Deployment, path: str, type: int, config: dict[str, Any]
) -> None:
    dep = sqlite_deployment
    create(admin, dep, "first", config={"path": "/srv/pools/a"})
    response = admin.post(pools_url(dep), json={"name": "second", "type": type, "config": config})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["field"] == "config.path"
    assert "must not conflict with other netfs or directory pools" in body["message"]
    assert "first" in body["message"]
    assert [p["name"] for p in admin.get(pools_url(dep)).json()] == ["default", "first"]


def test_a_sibling_path_with_a_common_prefix_does_not_overlap(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    create(admin, sqlite_deployment, "first", config={"path": "/srv/pools/a"})
    create(admin, sqlite_deployment, "second", config={"path": "/srv/pools/ab"})
    create(admin, sqlite_deployment, "iscsi", type=1, config=_ISCSI)  # no target path


def test_the_default_pools_directory_is_taken(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    default = pool(admin, sqlite_deployment.setup.default_pool_id)["config"]["path"]
    response = admin.post(
        pools_url(sqlite_deployment),
        json={"name": "inside", "type": 0, "config": {"path": f"{default}/inside"}},
    )
    assert (response.status_code, response.json()["field"]) == (400, "config.path")


def test_names_are_unique_in_the_cluster(admin: TestClient, sqlite_deployment: Deployment) -> None:
    create(admin, sqlite_deployment, "fast")
    response = admin.post(
        pools_url(sqlite_deployment),
        json={"name": "fast", "type": 0, "config": {"path": "/srv/other"}},
    )
    assert (response.status_code, response.json()["field"]) == (409, "name")
    assert "already has a storage pool named 'fast'" in response.json()["message"]


def test_a_name_marked_for_destruction_is_unavailable_until_cleanup_finishes(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    pool_id = create(admin, dep, "fast")
    enable(admin, pool_id, dep.setup.node_id)
    dep.daemon.agent.run_pending()
    assert (
        admin.delete(f"/api/v1/storage_pools/{pool_id}", params={"confirm": "DESTROY"}).json() == {}
    )
    got = pool(admin, pool_id)
    assert got["status"] == "destroying"
    assert got["nodes"][0]["state"] == "removing"
    again = {"name": "fast", "type": 0, "config": {"path": "/srv/elsewhere"}}
    refused = admin.post(pools_url(dep), json=again)
    assert (refused.status_code, refused.json()["field"]) == (409, "name")
    assert "unavailable until cleanup finishes" in refused.json()["message"]
    changed = admin.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": []})
    assert changed.status_code == 409 and "marked for destruction" in changed.json()["message"]
    dep.daemon.agent.run_pending()  # propagation removes it from the node, then forgets it
    assert pool_id not in dep.storage.pools
    assert admin.get(f"/api/v1/storage_pools/{pool_id}").status_code == 404
    assert "pool.deleted" in _event_kinds(dep, pool_id)
    assert admin.post(pools_url(dep), json=again).status_code == 200


def test_a_pool_enabled_nowhere_is_destroyed_at_once(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    pool_id = create(admin, sqlite_deployment, "fast")
    assert admin.delete(f"/api/v1/storage_pools/{pool_id}").json() == {}
    assert admin.get(f"/api/v1/storage_pools/{pool_id}").status_code == 404
    assert create(admin, sqlite_deployment, "fast")


def test_destroy_is_refused_while_a_node_holds_volumes_in_it(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    other = add_node(dep, "node-b")
    pool_id = create(admin, dep, "fast")
    enable(admin, pool_id, dep.setup.node_id, other)
    add_volume(dep, pool_id, other, "a")
    add_volume(dep, pool_id, other, "b")
    response = admin.delete(f"/api/v1/storage_pools/{pool_id}", params={"confirm": "DESTROY"})
    assert response.status_code == 409
    message = response.json()["message"]
    assert "can't be destroyed" in message
    assert f"2 volume(s) on node node-b ({other})" in message
    assert dep.setup.node_id not in message  # the node without volumes is not named
    assert pool(admin, pool_id)["status"] != "destroying"


def test_disabling_a_node_that_holds_volumes_in_the_pool_is_refused(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    other = add_node(dep, "node-b")
    pool_id = create(admin, dep, "fast")
    enable(admin, pool_id, dep.setup.node_id, other)
    add_volume(dep, pool_id, dep.setup.node_id)
    response = admin.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": [other]})
    assert (response.status_code, response.json()["field"]) == (409, "node_ids")
    assert f"1 volume(s) on node node-a ({dep.setup.node_id})" in response.json()["message"]
    assert {n["state"] for n in pool(admin, pool_id)["nodes"]} == {"pending"}
    # The node without volumes can go.
    shown = enable(admin, pool_id, dep.setup.node_id)
    assert {n["node_id"]: n["state"] for n in shown["nodes"]}[other] == "removing"


def test_destroy_asks_for_the_exact_word_when_given_one(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    pool_id = create(admin, sqlite_deployment, "fast")
    response = admin.delete(f"/api/v1/storage_pools/{pool_id}", params={"confirm": "yes"})
    assert (response.status_code, response.json()["field"]) == (400, "confirm")
    assert pool(admin, pool_id)["status"] == "none"


def test_only_nodes_of_the_pools_cluster_can_be_chosen(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    pool_id = create(admin, sqlite_deployment, "fast")
    response = admin.patch(
        f"/api/v1/storage_pools/{pool_id}",
        json={"node_ids": [sqlite_deployment.setup.node_id, "node-nope"]},
    )
    assert (response.status_code, response.json()["field"]) == (400, "node_ids[1]")
    assert pool(admin, pool_id)["nodes"] == []


# Per-type settings

_ISCSI = {"portal": "192.0.2.10", "target": "iqn.2003-01.org.example:disk1"}


@pytest.mark.parametrize(
    ("type", "config", "field"),
    [
        (0, {}, "config.path"),
        (0, {"path": "relative/dir"}, "config.path"),
        (0, {"path": "/"}, "config.path"),
        (0, {"path": "/srv/x", "server": "a"}, "config.server"),
        (0, {"path": 5}, "config.path"),
        (
            3,
            {"protocol": "smb", "server": "nas", "export": "/e", "path": "/mnt/a"},
            "config.protocol",
        ),
        (3, {"server": "bad host", "export": "/e", "path": "/mnt/a"}, "config.server"),
        (3, {"server": "nas", "export": "relative", "path": "/mnt/a"}, "config.export"),
        (
            3,
            {"server": "nas", "export": "/e", "path": "/mnt/a", "password": "p"},
            "config.password",
        ),
        (
            3,
            {"protocol": "cifs", "server": "nas", "export": "a/b", "path": "/mnt/a"},
            "config.export",
        ),
        (
            3,
            {"protocol": "cifs", "server": "nas", "export": "s", "path": "/mnt/a", "password": "p"},
            "config.username",
        ),
        (
            3,
            {"protocol": "cifs", "server": "nas", "export": "s", "path": "/mnt/a", "domain": "C"},
            "config.username",
        ),
        (
            3,
            {**_CIFS_LOGIN, "domain": "CORP,uid=0"},
            "config.domain",
        ),
        (
            3,
            {**_CIFS_LOGIN, "password": "line\nbreak"},
            "config.password",
        ),
        (3, {"server": "nas", "export": "/e", "path": "/mnt/a", "domain": "C"}, "config.domain"),
        (1, {"target": "iqn.2003-01.org.example:d"}, "config.portal"),
        (1, {**_ISCSI, "portal": "host:99999"}, "config.portal"),
        (1, {**_ISCSI, "portal": "fd00::1"}, "config.portal"),
        (1, {**_ISCSI, "target": "iqn.2003-13.org.example:d"}, "config.target"),
        (1, {**_ISCSI, "target": "disk1"}, "config.target"),
        (1, {**_ISCSI, "target": "eui.12345"}, "config.target"),
        (1, {**_ISCSI, "initiator": "nope"}, "config.initiator"),
        (1, {**_ISCSI, "chap_username": "u"}, "config.chap_secret"),
        (1, {**_ISCSI, "chap_secret": CHAP_SECRET}, "config.chap_username"),
        (2, {"volume_group": "-vg"}, "config.volume_group"),
        (4, {"pool": "rbd"}, "config.monitors"),
        (4, {"monitors": ["mon1", "mon 2"], "pool": "rbd"}, "config.monitors[1]"),
        (4, {"monitors": ["mon1"], "pool": "a/b"}, "config.pool"),
        (4, {"monitors": ["mon1"], "pool": "rbd", "key": "not base64!"}, "config.key"),
        (5, {"pool": "mirror"}, "config.pool"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    admin: TestClient, sqlite_deployment: Deployment, type: int, config: dict[str, Any], field: str
) -> None:
    response = admin.post(
        pools_url(sqlite_deployment), json={"name": "p1", "type": type, "config": config}
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field, response.json()
    assert [p["name"] for p in admin.get(pools_url(sqlite_deployment)).json()] == ["default"]


@pytest.mark.parametrize(
    ("type", "config", "stored"),
    [
        (0, {"path": "/srv//x/./y/../z"}, {"path": "/srv/x/z"}),
        (
            3,
            {"server": "10.0.0.5", "export": "/exports/vm", "path": "/mnt/vm"},
            {"protocol": "nfs", "server": "10.0.0.5", "export": "/exports/vm", "path": "/mnt/vm"},
        ),
        (
            1,
            {"portal": "[fd00::5]", "target": "IQN.2003-01.org.Example:Disk1"},
            {"portal": "[fd00::5]:3260", "target": "iqn.2003-01.org.example:disk1"},
        ),
        (1, {"portal": "san:3261", "target": "naa.0123456789abcdef"}, None),
        (2, {}, {"volume_group": "p1"}),
        (
            4,
            {"monitors": "mon1", "pool": "rbd"},
            {"monitors": ["mon1:6789"], "pool": "rbd", "user": "admin"},
        ),
        (5, {"pool": "tank"}, {"pool": "tank"}),
    ],
)
def test_settings_are_stored_normalised(
    admin: TestClient,
    sqlite_deployment: Deployment,
    type: int,
    config: dict[str, Any],
    stored: dict[str, Any] | None,
) -> None:
    pool_id = create(admin, sqlite_deployment, "p1", type=type, config=config)
    got = pool(admin, pool_id)["config"]
    assert got == (stored or {"portal": "san:3261", "target": "naa.0123456789abcdef"})


def test_only_file_pools_hold_images(admin: TestClient, sqlite_deployment: Deployment) -> None:
    response = admin.post(
        pools_url(sqlite_deployment),
        json={"name": "p1", "type": 1, "config": _ISCSI, "can_hold_images": True},
    )
    assert (response.status_code, response.json()["field"]) == (400, "can_hold_images")


def test_unknown_types_are_refused(admin: TestClient, sqlite_deployment: Deployment) -> None:
    response = admin.post(pools_url(sqlite_deployment), json={"name": "p1", "type": 6})
    assert (response.status_code, response.json()["field"]) == (400, "type")


# Secrets


def test_secrets_reach_the_driver_and_nothing_else(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    node = dep.setup.node_id
    iscsi = create(
        admin,
        dep,
        "san",
        type=1,
        config={**_ISCSI, "chap_username": "vmhost", "chap_secret": CHAP_SECRET},
    )
    rbd = create(
        admin, dep, "ceph", type=4, config={"monitors": ["m1"], "pool": "rbd", "key": CEPH_KEY}
    )
    cifs = create(
        admin,
        dep,
        "share",
        type=3,
        config={
            "protocol": "cifs",
            "server": "nas",
            "export": "vms",
            "path": "/mnt/share",
            "username": "bob",
            "password": CIFS_PASSWORD,
        },
    )
    secrets = (CHAP_SECRET, CEPH_KEY, CIFS_PASSWORD)
    for pool_id in (iscsi, rbd, cifs):
        enable(admin, pool_id, node)
    dep.storage.lacking[PoolType.RBD] = f"refusing key {CEPH_KEY[:3]}"  # a red pool too
    dep.daemon.agent.run_pending()
    assert dep.storage.pools[iscsi].secrets == {"chap_secret": CHAP_SECRET}
    assert dep.storage.pools[iscsi].config["initiator"].startswith("iqn.2026-12.org.cloudenv:")
    assert dep.storage.pools[cifs].secrets == {"password": CIFS_PASSWORD}
    # On the node, the login is in the pool's credentials file (and the pool names only it).
    assert dep.storage.credential_files == {
        credentials_path(cifs): f"username=bob\npassword={CIFS_PASSWORD}\n"
    }
    shown = [
        admin.get(pools_url(dep)).text,
        *(admin.get(f"/api/v1/storage_pools/{p}").text for p in (iscsi, rbd, cifs)),
        admin.get(f"/api/v1/nodes/{node}/storage/pools").text,
        admin.get("/api/v1/tasks").text,
        admin.get(f"/api/v1/organizations/{dep.setup.organization_id}/audit").text,
    ]
    with transaction(dep.factory) as db:
        shown.append(json.dumps([(e.kind, e.data) for e in db.scalars(select(Event))]))
        shown.append(json.dumps([(t.params, t.log, t.message) for t in db.scalars(select(Task))]))
    shown.append(json.dumps([(a.action, a.message, a.target_id) for a in audit_rows(dep)]))
    for text in shown:
        for secret in secrets:
            assert secret not in text
    assert pool(admin, iscsi)["config"]["chap_username"] == "vmhost"
    with transaction(dep.factory) as db:
        assert db.get_one(StoragePool, rbd).secrets == {"key": CEPH_KEY}


# Tenancy


def test_another_organization_neither_sees_nor_touches_our_pools(
    admin: TestClient, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    client, _org = tenant
    dep = sqlite_deployment
    pool_id = create(admin, dep, "fast")
    assert client.get(pools_url(dep)).status_code == 404
    assert client.get(f"/api/v1/storage_pools/{pool_id}").status_code == 404
    body = {"name": "mine", "type": 0, "config": {"path": "/srv/mine"}}
    assert client.post(pools_url(dep), json=body).status_code == 404
    assert (
        client.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": []}).status_code == 404
    )
    assert client.delete(f"/api/v1/storage_pools/{pool_id}").status_code == 404
    assert pool(admin, pool_id)["status"] == "none"


def test_changes_are_audited(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    pool_id = create(admin, dep, "fast")
    enable(admin, pool_id, dep.setup.node_id)
    admin.delete(f"/api/v1/storage_pools/{pool_id}")
    actions = [(a.action, a.target_id) for a in audit_rows(dep) if a.target_id == pool_id]
    assert actions == [("pool.create", pool_id), ("pool.update", pool_id), ("pool.delete", pool_id)]


def _event_kinds(dep: Deployment, target_id: str) -> set[str]:
    with transaction(dep.factory) as db:
        return set(db.scalars(select(Event.kind).where(Event.target_id == target_id)))


def test_pool_reads_follow_the_policies_at_the_pools_cluster(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    """Allowed pool.read only below another cluster: this cluster's pools are neither
    listed nor streamed as events (they name their cluster), that cluster's are."""
    from tests.support.principals import add_branch, add_policy, add_user, signed_in

    dep = sqlite_deployment
    west = add_branch(dep, "west")
    here = create(admin, dep, "here")
    there_reply = admin.post(
        f"/api/v1/clusters/{west.cluster}/storage_pools",
        json={"name": "there", "type": 0, "config": {"path": "/srv/there"}},
    )
    there = there_reply.json()["id"]
    statements = [
        {"action": "organization.read", "effect": "allow", "resource": "*"},
        {"action": "cluster.read", "effect": "allow", "resource": "*"},
        {"action": "pool.read", "effect": "allow", "resource": f"{west.cluster}/*"},
    ]
    add_user(dep, "westie", [add_policy(dep, statements)])
    with signed_in(dep, "westie") as client:
        assert client.get(pools_url(dep)).json() == []
        assert client.get(f"/api/v1/storage_pools/{here}").status_code == 403
        listed = client.get(f"/api/v1/clusters/{west.cluster}/storage_pools").json()
        assert [p["id"] for p in listed] == [there]
        with client.stream("GET", "/api/v1/events", params={"since": 0, "timeout": 0.5}) as s:
            text = "".join(s.iter_text())
    assert there in text
    assert here not in text


def test_a_second_node_set_up_in_the_cluster_is_enabled_on_its_default_pool(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    """A cluster has one pool named default: set-up of another node enables it there."""
    from cloudenv.services.storage.pools import create_default_pool

    dep = sqlite_deployment
    other = add_node(dep, "node-b")
    with transaction(dep.factory) as db:
        made = create_default_pool(db, db.get_one(Node, other), "/elsewhere")
    assert made.id == dep.setup.default_pool_id
    default = pool(admin, dep.setup.default_pool_id)
    assert {n["node_id"] for n in default["nodes"]} == {dep.setup.node_id, other}
    assert [p["name"] for p in admin.get(pools_url(dep)).json()].count("default") == 1
