"""Details the product's Go clients depend on: JSON bodies on every 2xx, integers as
integers, RFC 3339 strings, arrays never null, both trailing-slash forms, the error shape."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Deployment

pytestmark = pytest.mark.unit

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_healthcheck_answers_without_credentials(
    anon: TestClient, sqlite_deployment: Deployment
) -> None:
    body = anon.get("/api/v1/healthcheck").json()
    assert body["id"] == sqlite_deployment.setup.node_id
    assert body["healthy"] is True
    assert type(body["time"]) is int
    assert len(body["cluster_id_hash"]) == 64


def test_healthcheck_id_is_readable_as_a_node(admin: TestClient) -> None:
    node_id = admin.get("/api/v1/healthcheck").json()["id"]
    assert admin.get(f"/api/v1/nodes/{node_id}").json()["node"]["id"] == node_id


def test_tree_types(admin: TestClient) -> None:
    tree = admin.get("/api/v1/organizations").json()[0]
    assert RFC3339.match(tree["organization"]["creation"])
    for key in ("datacenters", "clusters", "nodes"):
        assert isinstance(tree[key], list)
    cluster = tree["clusters"][0]
    for key in ("node_count", "fault_tolerance"):
        assert type(cluster[key]) is int
    node = tree["nodes"][0]
    assert node["last_seen"] is None or RFC3339.match(node["last_seen"])
    assert type(node["alive"]) is bool


def test_node_detail_types(admin: TestClient, sqlite_deployment: Deployment) -> None:
    body = admin.get(f"/api/v1/nodes/{sqlite_deployment.setup.node_id}").json()
    assert body["instances"] == []
    assert body["os"] == {"kernel": "6.1.0-26-amd64", "architecture": "x86_64", "uefi": True}
    assert type(body["time"]["time"]) is int and type(body["time"]["uptime"]) is int
    assert body["time"]["timezone"] == "Etc/UTC"
    assert {"ssh_key", "client_cert"} <= set(body["node"])


def test_node_hardware_types(admin: TestClient, sqlite_deployment: Deployment) -> None:
    node_id = sqlite_deployment.setup.node_id
    hw = admin.get(f"/api/v1/nodes/{node_id}/hardware").json()
    assert set(hw) == {"vcpus", "cpu", "memory", "disks", "usb"}
    assert type(hw["vcpus"]) is int
    assert type(hw["cpu"]["cores"]["physical"]) is int and type(hw["cpu"]["sockets"]) is int
    assert isinstance(hw["cpu"]["flags"], list) and isinstance(hw["usb"], list)
    assert type(hw["memory"][0]["data"]["size"]) is int
    assert isinstance(hw["disks"][0]["size"], float)
    pci = admin.get(f"/api/v1/nodes/{node_id}/hardware/pci").json()
    assert pci[0]["class"] == "0x060100" and isinstance(pci[0]["iommu_group"], str)


def test_trailing_slash_is_accepted_without_redirect(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    node_id = sqlite_deployment.setup.node_id
    for path in (f"/api/v1/nodes/{node_id}", f"/api/v1/nodes/{node_id}/", "/api/v1/organizations/"):
        response = admin.get(path, follow_redirects=False)
        assert response.status_code == 200, path


def test_delete_answers_with_an_empty_object(admin: TestClient) -> None:
    org_id = admin.post("/api/v1/organizations", json={"name": "gone", "description": ""}).json()[
        "id"
    ]
    response = admin.delete(f"/api/v1/organizations/{org_id}/")
    assert response.status_code == 200
    assert response.content == b"{}"


def test_malformed_json_is_a_400_in_our_shape(admin: TestClient) -> None:
    response = admin.post(
        "/api/v1/organizations", content=b"{bad", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": "The request body is not valid JSON."}


def test_non_object_body_is_refused(admin: TestClient) -> None:
    response = admin.post("/api/v1/organizations", json=["a", "b"])
    assert response.status_code == 400
    assert "detail" not in response.json()


def test_unknown_route_and_wrong_method(admin: TestClient) -> None:
    missing = admin.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == 404
    wrong = admin.put("/api/v1/organizations")
    assert wrong.status_code == 405 and wrong.json()["code"] == 405


def test_openapi_document_is_served(anon: TestClient) -> None:
    doc = anon.get("/api/v1/openapi.json").json()
    assert "/api/v1/organizations" in doc["paths"]
