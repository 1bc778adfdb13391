"""Names over HTTP: what the trials got through (a trailing newline on an organization, a
datacenter and an image; image names too long for a file) is refused with 400 and changes
nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudenv.store.engine import transaction
from cloudenv.store.tables import Datacenter, Image, Organization
from tests.conftest import Deployment, count_rows

pytestmark = pytest.mark.unit


def _refused(response: object, field: str = "name") -> str:
    assert response.status_code == 400, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["field"] == field
    return str(body["message"])


def test_organization_name_with_a_trailing_newline(
    admin: TestClient, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    client, org_id = tenant
    message = _refused(client.patch(f"/api/v1/organizations/{org_id}", json={"name": "acme\n"}))
    assert message.startswith("Organization name 'acme\\n' is not valid")
    _refused(admin.post("/api/v1/organizations", json={"name": "beta\n"}))
    with transaction(sqlite_deployment.factory) as db:
        names = sorted(db.scalars(select(Organization.name)))
    assert len(names) == 2 and not any("\n" in name for name in names)


def test_datacenter_name_with_a_trailing_newline(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    org_id = sqlite_deployment.setup.organization_id
    body = {"name": "default\n", "organization_id": org_id}
    _refused(admin.post("/api/v1/datacenters", json=body))
    dc_id = sqlite_deployment.setup.datacenter_id
    _refused(admin.patch(f"/api/v1/datacenters/{dc_id}", json={"name": "other\n"}))
    cluster_id = sqlite_deployment.setup.cluster_id
    _refused(admin.patch(f"/api/v1/clusters/{cluster_id}", json={"name": "default\n"}))
    assert count_rows(sqlite_deployment, Datacenter) == 1


def _upload(admin: TestClient, dep: Deployment, name: str) -> object:
    return admin.post(
        f"/api/v1/nodes/{dep.setup.node_id}/images/images",
        params={"storage_pool_id": dep.setup.default_pool_id, "name": name, "format": "iso"},
        content=b"x" * 4096,
    )


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("nl.iso\n", "is not valid"),
        ("a" * 250 + ".iso", "at most 249 bytes"),
        ("a" * 255, "at most 249 bytes"),
    ],
)
def test_image_names_that_no_file_can_have(
    admin: TestClient, sqlite_deployment: Deployment, name: str, problem: str
) -> None:
    message = _refused(_upload(admin, sqlite_deployment, name))
    assert problem in message
    staging = sqlite_deployment.daemon.settings.data_dir / "staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    assert count_rows(sqlite_deployment, Image) == 0


def test_the_longest_image_name_is_imported(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    name = "a" * 245 + ".iso"
    response = _upload(admin, sqlite_deployment, name)
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    assert sqlite_deployment.daemon.agent.run_pending() >= 1
    images = admin.get(f"/api/v1/nodes/{sqlite_deployment.setup.node_id}/images/images").json()
    assert [(i["name"], i["status"]) for i in images] == [(name, "available")]
