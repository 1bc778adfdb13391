"""The resource tree over HTTP: every route refuses anonymous callers, hides other tenants'
objects as 404, serves permitted callers, and refuses bad input without changing anything."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cloudenv.store.engine import transaction
from cloudenv.store.tables import Cluster, Datacenter, Node, Organization
from tests.conftest import Deployment, count_rows

pytestmark = pytest.mark.unit


def test_tree_is_a_bare_array_with_the_installed_resources(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    response = admin.get("/api/v1/organizations")
    assert response.status_code == 200
    trees = response.json()
    assert isinstance(trees, list) and len(trees) == 1
    tree = trees[0]
    assert tree["organization"]["id"] == sqlite_deployment.setup.organization_id
    assert [d["name"] for d in tree["datacenters"]] == ["default"]
    assert tree["clusters"][0]["node_count"] == 1
    assert tree["clusters"][0]["standalone"] is True
    node = tree["nodes"][0]
    assert node["id"] == sqlite_deployment.setup.node_id
    assert "ssh_key" not in node and "client_cert" not in node


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/organizations",
        "/api/v1/datacenters",
        "/api/v1/clusters",
    ],
)
def test_anonymous_callers_get_401(anon: TestClient, path: str) -> None:
    response = anon.get(path)
    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert "Sign in" in response.json()["message"]


def test_invalid_token_gets_401(anon: TestClient) -> None:
    anon.headers["Authorization"] = "Bearer not-a-token"
    response = anon.get("/api/v1/organizations")
    assert response.status_code == 401
    assert response.json() == {
        "code": 401,
        "message": "Your session has expired or is not valid; sign in again.",
    }


def test_create_and_delete_organization(admin: TestClient, sqlite_deployment: Deployment) -> None:
    response = admin.post("/api/v1/organizations", json={"name": "beta_co", "description": ""})
    assert response.status_code == 200
    org_id = response.json()["id"]
    assert org_id.startswith("org-") and len(org_id) == 25
    assert admin.get(f"/api/v1/organizations/{org_id}").json()["organization"]["name"] == "beta_co"
    assert admin.delete(f"/api/v1/organizations/{org_id}").json() == {}
    assert admin.get(f"/api/v1/organizations/{org_id}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "ab"}, "name"),
        ({"name": "has space"}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "ok-name", "description": "d" * 513}, "description"),
        ({"name": 123}, "name"),
        ({}, "name"),
    ],
)
def test_bad_organization_input_is_refused(
    admin: TestClient, sqlite_deployment: Deployment, body: dict, field: str
) -> None:
    before = count_rows(sqlite_deployment, Organization)
    response = admin.post("/api/v1/organizations", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert response.json()["field"] == field
    assert isinstance(response.json()["message"], str)
    assert count_rows(sqlite_deployment, Organization) == before


def test_edit_organization(admin: TestClient, tenant: tuple[TestClient, str]) -> None:
    client, org_id = tenant
    edited = client.patch(f"/api/v1/organizations/{org_id}/", json={"description": "ours"})
    assert edited.status_code == 200
    assert edited.json()["organization"]["description"] == "ours"
    renamed = admin.patch(f"/api/v1/organizations/{org_id}", json={"name": "tenant-c"})
    assert renamed.json()["organization"]["name"] == "tenant-c"
    assert admin.patch(f"/api/v1/organizations/{org_id}", json={"name": "acme"}).status_code == 409
    assert client.patch(f"/api/v1/organizations/{org_id}", json={"name": "x y"}).status_code == 400


def test_duplicate_organization_name_conflicts(admin: TestClient) -> None:
    assert admin.post("/api/v1/organizations", json={"name": "dup"}).status_code == 200
    response = admin.post("/api/v1/organizations", json={"name": "dup"})
    assert response.status_code == 409
    assert "already exists" in response.json()["message"]


def test_non_empty_organization_cannot_be_deleted(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    org_id = admin.post("/api/v1/organizations", json={"name": "full-org"}).json()["id"]
    admin.post("/api/v1/datacenters", json={"name": "dc1", "organization_id": org_id})
    response = admin.delete(f"/api/v1/organizations/{org_id}")
    assert response.status_code == 409
    assert "datacenter" in response.json()["message"]
    assert admin.get(f"/api/v1/organizations/{org_id}").status_code == 200


def test_root_organization_cannot_be_deleted(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    response = admin.delete(f"/api/v1/organizations/{sqlite_deployment.setup.organization_id}")
    assert response.status_code == 409


def test_datacenter_lifecycle(admin: TestClient, sqlite_deployment: Deployment) -> None:
    org_id = sqlite_deployment.setup.organization_id
    created = admin.post(
        "/api/v1/datacenters",
        json={
            "name": "berlin",
            "organization_id": org_id,
            "location": {"latitude": 52.52, "longitude": 13.405},
        },
    )
    assert created.status_code == 200
    dc_id = created.json()["id"]
    detail = admin.get(f"/api/v1/datacenters/{dc_id}/").json()
    assert detail["datacenter"]["location"] == {"latitude": 52.52, "longitude": 13.405}
    assert detail["clusters"] == []
    patched = admin.patch(f"/api/v1/datacenters/{dc_id}", json={"description": "EU"}).json()
    assert patched["description"] == "EU" and patched["name"] == "berlin"
    assert patched["location"] is not None  # untouched by a PATCH that does not name it
    cleared = admin.patch(f"/api/v1/datacenters/{dc_id}", json={"location": None}).json()
    assert cleared["location"] is None
    listed = admin.get("/api/v1/datacenters", params={"organization_id": org_id}).json()
    assert {d["name"] for d in listed} == {"default", "berlin"}
    assert admin.delete(f"/api/v1/datacenters/{dc_id}").json() == {}
    assert admin.get(f"/api/v1/datacenters/{dc_id}").status_code == 404


@pytest.mark.parametrize(
    ("location", "field"),
    [
        ({"latitude": 91, "longitude": 0}, "location.latitude"),
        ({"latitude": 0, "longitude": -180.5}, "location.longitude"),
        ({"latitude": "north", "longitude": 0}, "location.latitude"),
    ],
)
def test_datacenter_location_out_of_range(
    admin: TestClient, sqlite_deployment: Deployment, location: dict, field: str
) -> None:
    before = count_rows(sqlite_deployment, Datacenter)
    response = admin.post(
        "/api/v1/datacenters",
        json={
            "name": "far",
            "organization_id": sqlite_deployment.setup.organization_id,
            "location": location,
        },
    )
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert count_rows(sqlite_deployment, Datacenter) == before


def test_datacenter_with_clusters_cannot_be_deleted(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    response = admin.delete(f"/api/v1/datacenters/{sqlite_deployment.setup.datacenter_id}")
    assert response.status_code == 409
    assert "cluster" in response.json()["message"]
    assert count_rows(sqlite_deployment, Datacenter) == 1


def test_datacenter_in_unknown_organization(admin: TestClient) -> None:
    response = admin.post(
        "/api/v1/datacenters", json={"name": "lost", "organization_id": "org-AAAAAAAAAAAAAAAAAAAAA"}
    )
    assert response.status_code == 404
    assert response.json()["field"] == "organization_id"


def test_cluster_read_edit_and_hardware(admin: TestClient, sqlite_deployment: Deployment) -> None:
    cluster_id = sqlite_deployment.setup.cluster_id
    cluster = admin.get(f"/api/v1/clusters/{cluster_id}").json()["cluster"]
    assert cluster["node_count"] == 1 and cluster["leader_id"] == sqlite_deployment.setup.node_id
    edited = admin.patch(
        f"/api/v1/clusters/{cluster_id}/", json={"name": "prod", "description": "main"}
    ).json()["cluster"]
    assert (edited["name"], edited["description"]) == ("prod", "main")
    assert admin.patch(f"/api/v1/clusters/{cluster_id}", json={"name": "b@d"}).status_code == 400
    with transaction(sqlite_deployment.factory) as db:  # its agent never reported
        db.get_one(Node, sqlite_deployment.setup.node_id).last_seen = None
    hardware = admin.get(f"/api/v1/clusters/{cluster_id}/hardware").json()
    # The fixture node reported 8 vCPUs, 32 GiB and a 512 GB disk, but never a heartbeat.
    assert hardware == {"partial": True, "vcpus": 8, "memory_gb": 32, "storage_gb": 512}
    listed = admin.get(
        "/api/v1/clusters", params={"datacenter_id": sqlite_deployment.setup.datacenter_id}
    ).json()
    assert [c["id"] for c in listed] == [cluster_id]
    assert listed[0]["health_status"] == "dead"


def test_unknown_ids_are_404_with_the_error_shape(admin: TestClient) -> None:
    for path in (
        "/api/v1/organizations/org-nope",
        "/api/v1/datacenters/dc-nope",
        "/api/v1/clusters/cls-nope",
        "/api/v1/nodes/node-nope",
        "/api/v1/nodes/node-nope/hardware",
        "/api/v1/tasks/task-nope",
    ):
        response = admin.get(path)
        assert response.status_code == 404, path
        assert set(response.json()) == {"code", "message", "field"}


class TestTenantIsolation:
    """A user of another organization sees only their own tree; ours is 404, never 403."""

    def test_tenant_sees_only_their_organization(self, tenant: tuple[TestClient, str]) -> None:
        client, org_id = tenant
        trees = client.get("/api/v1/organizations").json()
        assert [t["organization"]["id"] for t in trees] == [org_id]

    def test_root_objects_are_invisible(
        self, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
    ) -> None:
        client, _ = tenant
        s = sqlite_deployment.setup
        for path in (
            f"/api/v1/organizations/{s.organization_id}",
            f"/api/v1/datacenters/{s.datacenter_id}",
            f"/api/v1/clusters/{s.cluster_id}",
            f"/api/v1/clusters/{s.cluster_id}/hardware",
            f"/api/v1/nodes/{s.node_id}",
            f"/api/v1/nodes/{s.node_id}/hardware",
            f"/api/v1/nodes/{s.node_id}/tasks",
        ):
            assert client.get(path).status_code == 404, path
        assert client.get("/api/v1/datacenters").json() == []
        assert client.get("/api/v1/clusters").json() == []

    def test_tenant_cannot_change_root_objects(
        self, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
    ) -> None:
        client, _ = tenant
        s = sqlite_deployment.setup
        assert (
            client.patch(
                f"/api/v1/datacenters/{s.datacenter_id}", json={"name": "stolen"}
            ).status_code
            == 404
        )
        assert client.delete(f"/api/v1/datacenters/{s.datacenter_id}").status_code == 404
        assert (
            client.patch(
                f"/api/v1/organizations/{s.organization_id}", json={"name": "stolen"}
            ).status_code
            == 404
        )
        assert (
            client.patch(f"/api/v1/clusters/{s.cluster_id}", json={"name": "stolen"}).status_code
            == 404
        )
        assert (
            client.post(
                "/api/v1/datacenters",
                json={"name": "intrude", "organization_id": s.organization_id},
            ).status_code
            == 404
        )
        assert client.post(f"/api/v1/nodes/{s.node_id}/facts/refresh").status_code == 404
        assert count_rows(sqlite_deployment, Cluster) == 1

    def test_tenant_manages_own_datacenters_but_not_organizations(
        self, tenant: tuple[TestClient, str]
    ) -> None:
        client, org_id = tenant
        created = client.post(
            "/api/v1/datacenters", json={"name": "mine", "organization_id": org_id}
        )
        assert created.status_code == 200
        assert client.delete(f"/api/v1/datacenters/{created.json()['id']}").status_code == 200
        response = client.post("/api/v1/organizations", json={"name": "another"})
        assert response.status_code == 403
        assert "root organization" in response.json()["message"]


def test_tree_shows_a_change_at_once_despite_the_reply_cache(
    admin: TestClient, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    """The tree is cached per caller scope and change version, never across tenants."""
    client, org_id = tenant
    before = {t["organization"]["id"] for t in admin.get("/api/v1/organizations").json()}
    assert before == {sqlite_deployment.setup.organization_id, org_id}
    assert [t["organization"]["id"] for t in client.get("/api/v1/organizations").json()] == [org_id]
    dc = admin.post("/api/v1/datacenters", json={"name": "fresh", "organization_id": org_id}).json()
    for caller in (admin, client):
        trees = caller.get("/api/v1/organizations").json()
        tenant_tree = next(t for t in trees if t["organization"]["id"] == org_id)
        assert dc["id"] in {d["id"] for d in tenant_tree["datacenters"]}
    assert [t["organization"]["id"] for t in client.get("/api/v1/organizations").json()] == [org_id]
