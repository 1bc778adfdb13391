"""Instance lists are rendered once and reused until an instance changes: the version is
the newest ``instance.``/``node.`` event, which every change of an instance row publishes
in its own transaction (issue 10: lists under 50 ms p99 at 500 rows)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cloudenv.services.compute import instances
from tests.conftest import Deployment
from tests.unit.api.test_node_detail import add_instance

pytestmark = pytest.mark.unit


def _names(client: TestClient, node_id: str) -> list[str]:
    response = client.get("/api/v1/instances", params={"node_id": node_id})
    assert response.status_code == 200, response.text
    return [entry["name"] for entry in response.json()]


def test_an_unchanged_list_is_not_read_again(
    admin: TestClient, sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = sqlite_deployment
    add_instance(dep, dep.setup.node_id, dep.setup.organization_id, "web-1")
    reads = []
    real = instances.list_instances
    monkeypatch.setattr(
        instances, "list_instances", lambda *a, **k: reads.append(1) or real(*a, **k)
    )
    # The first list after the row appeared (no event: straight into the store) reads it...
    assert _names(admin, dep.setup.node_id) == ["web-1"]
    assert _names(admin, dep.setup.node_id) == ["web-1"]
    assert _names(admin, dep.setup.node_id) == ["web-1"]
    assert len(reads) == 1  # ...and the next two are the same bytes, not read again


def test_a_change_shows_in_the_next_list(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    instance_id = add_instance(dep, dep.setup.node_id, dep.setup.organization_id, "web-1")
    assert _names(admin, dep.setup.node_id) == ["web-1"]

    renamed = admin.patch(
        f"/api/v1/instances/{instance_id}",
        json={"data": {"action": "update_info_fields", "name": "web-2"}},
    )
    assert renamed.status_code == 200, renamed.text
    assert _names(admin, dep.setup.node_id) == ["web-2"]

    started = admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "start"})
    assert started.status_code == 202, started.text
    (entry,) = admin.get("/api/v1/instances", params={"node_id": dep.setup.node_id}).json()
    assert (entry["state"], entry["current_task_id"]) == ("starting", started.json()["task_id"])


def test_lists_are_kept_per_caller_and_filter(
    admin: TestClient, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    alice, tenant_org = tenant
    add_instance(dep, dep.setup.node_id, dep.setup.organization_id, "root-vm")
    add_instance(dep, dep.setup.node_id, tenant_org, "tenant-vm")
    assert _names(admin, dep.setup.node_id) == ["root-vm", "tenant-vm"]
    assert _names(alice, dep.setup.node_id) == ["tenant-vm"]  # not the root's cached list
    by_cluster = admin.get("/api/v1/instances", params={"cluster_id": dep.setup.cluster_id})
    assert [e["name"] for e in by_cluster.json()] == ["root-vm", "tenant-vm"]


@pytest.mark.parametrize("path", ["/api/v1/organizations", "/api/v1/instances"])
def test_big_lists_go_out_gzipped_to_clients_that_accept_it(
    admin: TestClient, sqlite_deployment: Deployment, path: str
) -> None:
    """The tree and instance lists are the big replies every UI polls: compressed once per
    version, they cost a fraction of the TLS and transfer of their plain bytes."""
    import gzip

    dep = sqlite_deployment
    add_instance(dep, dep.setup.node_id, dep.setup.organization_id, "web-1")
    params = {"node_id": dep.setup.node_id} if path.endswith("instances") else {}
    plain = admin.get(path, params=params, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    zipped = admin.get(path, params=params, headers={"Accept-Encoding": "br, gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == plain.json()  # the client decodes it to the same reply
    refused = admin.get(path, params=params, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    raw = admin.build_request("GET", path, params=params, headers={"Accept-Encoding": "gzip"})
    body = admin.send(raw, stream=True)
    compressed = b"".join(body.iter_raw())
    assert gzip.decompress(compressed) == plain.content
    assert len(compressed) < len(plain.content)
