"""Destructive calls as the product's clients make them: no confirmation word (the client
asked its user), or the word DESTROY; any other word is refused and changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cloudenv.store.tables import Datacenter, Image, Organization
from tests.conftest import Deployment, count_rows
from tests.unit.api.test_devices_snapshots_metrics import (
    devices,
    run,
    spare_volume,
    volume_body,
)
from tests.unit.api.test_instances_api import deploy, upload

pytestmark = pytest.mark.unit


def refused(response: object) -> None:
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["field"] == "confirm" and "confirm=DESTROY" in body["message"]


def test_image_delete(admin: TestClient, sqlite_deployment: Deployment) -> None:
    node = sqlite_deployment.setup.node_id
    upload(admin, sqlite_deployment, "a.iso")
    path = f"/api/v1/nodes/{node}/images/images/a.iso"
    refused(admin.delete(path, params={"confirm": "yes"}))
    assert admin.get(f"/api/v1/nodes/{node}/images/images").json()[0]["status"] == "available"
    run(admin, sqlite_deployment, admin.delete(path))
    assert count_rows(sqlite_deployment, Image) == 0


def test_device_detach(admin: TestClient, sqlite_deployment: Deployment) -> None:
    web = deploy(admin, sqlite_deployment)
    volume_id = spare_volume(admin, sqlite_deployment)
    base = f"/api/v1/instances/{web}/devices"
    run(admin, sqlite_deployment, admin.post(base, json=volume_body(volume_id)))
    refused(admin.delete(f"{base}/data-1", params={"confirm": "Destroy"}))
    assert devices(admin, web)["data-1"]["status"] == "attached"
    run(admin, sqlite_deployment, admin.delete(f"{base}/data-1", params={"confirm": "DESTROY"}))


def test_datacenter_and_organization_delete(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    org = admin.post("/api/v1/organizations", json={"name": "short-lived"}).json()
    org_id = org["id"]
    dc = admin.post("/api/v1/datacenters", json={"name": "spare", "organization_id": org_id})
    dc_id = dc.json()["id"]
    refused(admin.delete(f"/api/v1/datacenters/{dc_id}", params={"confirm": "ok"}))
    assert count_rows(sqlite_deployment, Datacenter) == 2
    assert admin.delete(f"/api/v1/datacenters/{dc_id}").status_code == 200
    refused(admin.delete(f"/api/v1/organizations/{org_id}", params={"confirm": ""}))
    assert count_rows(sqlite_deployment, Organization) == 2
    assert admin.delete(f"/api/v1/organizations/{org_id}").status_code == 200
    assert count_rows(sqlite_deployment, Organization) == 1
